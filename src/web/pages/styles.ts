/**
 * One stylesheet for the virtual terminal and the console. Colours meet WCAG AA contrast on
 * their backgrounds, the focus ring 3:1 against every background it is drawn on; targets are at
 * least 44 px; layouts collapse to one column below ~700 px.
 */
export const APP_CSS = `
:root { --fg: #14171a; --muted: #4a5560; --bg: #f6f7f9; --card: #fff; --line: #c9d0d8; --accent: #0b4f9c; --accent-fg: #fff;
  --ok: #17632f; --ok-bg: #e3f4e8; --bad: #9f1d1a; --bad-bg: #fbe6e5; --warn: #7a4a00; --warn-bg: #fff3d6; --info-bg: #e6effa;
  /* 4.4:1 on white, 4.1:1 on the page, 3.4:1 on the dark header: the focus ring is seen everywhere (WCAG 1.4.11). */
  --focus: #b86200; }
* { box-sizing: border-box; }
html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
.skip { position: absolute; left: -999px; top: 0; background: var(--accent); color: var(--accent-fg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: 0; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #1d2733; color: #fff; }
.top h1 { font-size: 1.2rem; margin: 0; }
.brand { font-weight: 700; letter-spacing: .02em; color: #c6dcf5; }
.top nav { margin-left: auto; display: flex; gap: 1rem; }
.top a { color: #fff; }
main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
main:focus { outline: none; }
h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: 1rem; }
label { display: block; font-weight: 600; margin: .7rem 0 .2rem; }
.hint { color: var(--muted); font-size: .9rem; margin: .2rem 0; }
input, select, textarea { font: inherit; width: 100%; padding: .5rem .6rem; min-height: 44px; border: 1px solid #6b7785; border-radius: .4rem; background: #fff; color: var(--fg); }
fieldset { border: 1px solid var(--line); border-radius: .5rem; margin: .8rem 0 0; padding: .4rem .8rem .8rem; }
legend { font-weight: 600; padding: 0 .3rem; }
.choice { display: flex; gap: 0 1.5rem; flex-wrap: wrap; }
.choice label { display: flex; align-items: center; gap: .5rem; font-weight: 400; margin: 0; min-height: 44px; }
.choice input { width: auto; min-height: 0; }
button, .button { font: inherit; font-weight: 600; min-height: 44px; padding: .5rem 1.1rem; border-radius: .4rem; border: 2px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; text-decoration: none; display: inline-flex; align-items: center; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .55; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: .6rem; margin-top: 1rem; }
.display { text-align: center; }
.display img { width: min(320px, 100%); height: auto; image-rendering: pixelated; border: 1px solid var(--line); background: #fff; }
.amount { font-size: 2rem; font-weight: 700; margin: .2rem 0; }
.status { font-size: 1.3rem; font-weight: 700; padding: .6rem; border-radius: .4rem; background: var(--info-bg); margin: .6rem 0; }
.status.ok { background: var(--ok-bg); color: var(--ok); }
.status.bad { background: var(--bad-bg); color: var(--bad); }
.status.warn { background: var(--warn-bg); color: var(--warn); }
.qrtext { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; background: #f0f2f5; padding: .4rem; border-radius: .3rem; }
.log { font-family: ui-monospace, monospace; font-size: .85rem; max-height: 14rem; overflow: auto; background: #f0f2f5; padding: .5rem; margin: 0; list-style: none; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .45rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; }
table.figures tbody th { background: none; font-weight: 600; }
td, th { overflow-wrap: anywhere; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.attention td { background: var(--warn-bg); }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 1rem; font-size: .85rem; font-weight: 600; background: #e8ecf0; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.tiles { display: grid; gap: .6rem; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem; }
.tile .v { font-size: 1.5rem; font-weight: 700; }
.tile .k { color: var(--muted); font-size: .85rem; }
.filters { display: grid; gap: 0 .8rem; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); align-items: end; }
.scroll { overflow-x: auto; }
.filters .actions { grid-column: 1 / -1; margin-top: .6rem; }
pre { white-space: pre-wrap; word-break: break-all; font-size: .8rem; background: #f0f2f5; padding: .4rem; border-radius: .3rem; margin: .2rem 0; }
.spaced { margin-top: 1rem; }
.facts { display: grid; gap: .5rem; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); margin: 0 0 1rem; }
.fact { background: #f0f2f5; border-radius: .4rem; padding: .4rem .6rem; }
.fact dt { color: var(--muted); font-size: .85rem; }
.fact dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
svg.chart text { font: 12px system-ui, sans-serif; fill: var(--fg); }
.narrow { max-width: 28rem; margin: 1rem auto; }
@media (max-width: 700px) { main { padding: .6rem; } .top nav { margin-left: 0; } }
`;
