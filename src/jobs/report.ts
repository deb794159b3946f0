
/** The local calendar day before `now` as YYYY-MM-DD and its bounds in epoch ms. */
export function previousLocalDay(now: number): { date: string; from: number; to: number } {
  const today = new Date(now);
  const to = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const date = `${start.getFullYear()}-${String(start.getMonth() + 1).padStart(2, '0')}-${String(start.getDate()).padStart(2, '0')}`;
  return { date, from: start.getTime(), to };
}
