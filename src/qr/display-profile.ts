import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';

/** Smallest edge (px) left for the code itself once both margins are taken off `size`. */
export const MIN_CODE_EDGE = 32;

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export const COLOUR_MODES = ['colour', 'greyscale', 'mono'] as const;

const format = z.enum(IMAGE_FORMATS, { error: `must be one of ${IMAGE_FORMATS.join(', ')}` });
const colour = z.enum(COLOUR_MODES, { error: `must be one of ${COLOUR_MODES.join(', ')}` });
const size = z.int({ error: 'must be an integer' }).min(64, { error: 'must be at least 64' }).max(2048, { error: 'must be at most 2048' });
const margin = z.int({ error: 'must be an integer' }).min(0, { error: 'must be at least 0' }).max(256, { error: 'must be at most 256' });
const quality = z.int({ error: 'must be an integer' }).min(1, { error: 'must be at least 1' }).max(100, { error: 'must be at most 100' });

/**
 * How one terminal wants its QR image. Strict, so a typo in a terminal's config fails at
 * start-up instead of silently falling back to a default.
 * - `colour`: 'colour' = 3-channel sRGB (for displays that reject greyscale files; the code
 *   itself is still black on white), 'greyscale' = 1 channel, 'mono' = pure black/white
 *   (1-bit PNG; lossless WebP; JPEG cannot hold 1-bit, so it is thresholded then encoded).
 * - `quality`: JPEG quality; for WebP, which we always write lossless, libwebp's compression effort.
 */
export const displayProfileSchema = z
  .strictObject({
    /** Output file format. */
    format: format.default('png'),
    /** Edge of the square output in px, margins included. */
    size: size.default(320),
    /** White quiet zone around the code, px on each side. */
    margin: margin.default(16),
    /** Colour handling, see above. */
    colour: colour.default('greyscale'),
    /** JPEG quality / WebP effort, 1..100. */
    quality: quality.default(85),
  })
  .superRefine((p, ctx) => {
    if (p.size - 2 * p.margin < MIN_CODE_EDGE) {
      ctx.addIssue({
        code: 'custom',
        path: ['margin'],
        message: `margin ${p.margin} leaves ${p.size - 2 * p.margin}px for the code at size ${p.size}; need at least ${MIN_CODE_EDGE}px`,
      });
    }
  });

export type DisplayProfile = z.output<typeof displayProfileSchema>;
export type DisplayProfileInput = z.input<typeof displayProfileSchema>;

/**
 * A stable cache-key string for a profile: equal keys give byte-identical renders. Quality is
 * left out for PNG, where it has no effect, so such profiles share cache entries.
 * @example profileKey(displayProfileSchema.parse({})) // 'png-320-m16-greyscale'
 */
export function profileKey(profile: DisplayProfile): string {
  const base = `${profile.format}-${profile.size}-m${profile.margin}-${profile.colour}`;
  return profile.format === 'png' ? base : `${base}-q${profile.quality}`;
}

/** A query-string value: express gives string[] for a repeated key, which we refuse. */
function queryValue<T extends z.ZodType<unknown, string>>(inner: T) {
  return z.string({ error: 'must be given once, as a single value' }).pipe(inner);
}

function queryInt(schema: typeof size) {
  return queryValue(
    z
      .string()
      .regex(/^\d{1,5}$/, { error: 'must be a whole number' })
      .transform(Number)
      .pipe(schema),
  );
}

/**
 * Per-request overrides from a query string (`?format=&size=&margin=&colour=`): strings are
 * coerced, bad values refused with a message naming the field. Other keys are ignored (not
 * rejected) because the route may share its query string with other parameters.
 */
export const profileOverridesSchema = z.object({
  format: queryValue(format).optional(),
  size: queryInt(size).optional(),
  margin: queryInt(margin).optional(),
  colour: queryValue(colour).optional(),
});

export type ProfileOverrides = z.output<typeof profileOverridesSchema>;

function toValidationError(error: z.ZodError, what: string): ValidationError {
  const issues = error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
  const message = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
  return new ValidationError(`invalid ${what}: ${message}`, { details: { issues }, cause: error });
}

/**
 * Parses query-string overrides, throwing a {@link ValidationError} that names each bad field.
 * @example parseProfileOverrides({ size: '480', format: 'jpeg' }) // { size: 480, format: 'jpeg' }
 */
export function parseProfileOverrides(query: unknown): ProfileOverrides {
  const result = profileOverridesSchema.safeParse(query ?? {});
  if (!result.success) throw toValidationError(result.error, 'display profile override');
  return result.data;
}

/**
 * Returns `profile` with the given overrides applied, re-validated as a whole (a bigger
 * margin may no longer fit the size). Throws {@link ValidationError}.
 * @example applyOverrides(profile, { size: 480 }) // { ...profile, size: 480 }
 */
export function applyOverrides(profile: DisplayProfile, overrides: ProfileOverrides): DisplayProfile {
  const merged: Record<string, unknown> = { ...profile };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) merged[key] = value;
  }
  const result = displayProfileSchema.safeParse(merged);
  if (!result.success) throw toValidationError(result.error, 'display profile');
  return result.data;
}
