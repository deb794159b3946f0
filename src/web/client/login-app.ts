/**
 * The sign-in form's browser code, sent as `loginApp.toString()`: posts the form as JSON and
 * shows a refusal in place; on success, opens the console. Self-contained, no imports.
 */
export function loginApp(): void {
  const form = document.getElementById('login-form') as HTMLFormElement | null;
  const result = document.getElementById('login-result');
  if (!form || !result) return;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    result.textContent = '';
    try {
      const res = await fetch('/console/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ name: String(data.get('name') ?? ''), password: String(data.get('password') ?? '') }),
      });
      if (res.ok) {
        window.location.assign('/console');
        return;
      }
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      result.textContent = `Not signed in: ${body.error?.message ?? `HTTP ${res.status}`}`;
    } catch (err) {
      result.textContent = `Not signed in: ${(err as Error).message}`;
    }
  });
}
