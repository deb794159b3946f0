import type { Command } from 'commander';
import { reportCsv, type EndOfDayFigures } from '../../reports/end-of-day.js';
import { action } from '../context.js';
import { localDate, localDayBounds } from '../dates.js';
import { EXIT, type CliIo } from '../io.js';
import { money, renderJson, renderTable } from '../output.js';

const HEAD = ['approved', 'approved amount', 'declined', 'cancelled', 'expired', 'failed', 'reversed', 'open', 'refunds', 'refunded', 'late approvals'];
const cells = (f: EndOfDayFigures) => [f.approvedCount, money(f.approvedMinor, f.currency), f.declinedCount, f.cancelledCount, f.expiredCount, f.failedCount, f.reversedCount, f.openCount, f.refundsCount, money(f.refundedMinor, f.currency), f.lateApprovals];

/** `tenderbridge report`: end-of-day totals. */
export function registerReportCommand(program: Command, io: CliIo): void {
  program
    .command('report')
    .description('end-of-day totals per terminal and per store for one local day')
    .option('--date <YYYY-MM-DD>', 'the local day (default: today)')
    .option('--csv', 'CSV with a header row instead of tables')
    .addHelpText(
      'after',
      `
Counts payments created that day by outcome (approved = paid, including those refunded since),
refunds that succeeded that day, and late approvals flagged that day. Amounts in CSV are decimal.

Examples:
  $ tenderbridge report
  $ tenderbridge report --date 2026-03-01 --csv > eod-2026-03-01.csv
  $ tenderbridge report --date 2026-03-01 --json`,
    )
    .action(
      action(io, async (ctx, opts: { date?: string; csv?: boolean }) => {
        const date = opts.date ?? localDate(ctx.clock());
        const bounds = localDayBounds(date);
        const report = await (await ctx.openStore({ readonly: true })).report(bounds);
        if (opts.csv) ctx.out(reportCsv(report));
        else if (ctx.json) ctx.out(renderJson({ date, ...report }));
        else if (report.totals.length === 0) ctx.out(`no payments or refunds on ${date}\n`);
        else {
          ctx.out(`End of day ${date}\n\nPer terminal:\n`);
          ctx.out(renderTable(['store', 'terminal', ...HEAD], report.terminals.map((t) => [t.storeId, t.terminalId, ...cells(t)])));
          ctx.out('\nPer store:\n');
          ctx.out(renderTable(['store', ...HEAD], report.stores.map((s) => [s.storeId, ...cells(s)])));
          ctx.out('\nTotal:\n');
          ctx.out(renderTable(['currency', ...HEAD], report.totals.map((t) => [t.currency, ...cells(t)])));
        }
        return EXIT.ok;
      }),
    );
}
