/** The UI's stylesheet: readable without colour, visible focus, one column that fits a phone (390 px). */
export const STYLES = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem 1.25rem 3rem; }
main :is(p, dl, form:not(.filters), ul, ol) { max-width: 46rem; }
header { display: flex; flex-wrap: wrap; column-gap: 1rem; justify-content: space-between; align-items: center; border-bottom: 1px solid; margin-bottom: 1.5rem; }
.brand { font-weight: 700; }
nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding-bottom: .5rem; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 1rem 0; } h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; } h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
label.check { font-weight: 400; margin-top: .25rem; }
input:not([type=checkbox]):not([type=radio]), textarea { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
fieldset { margin-top: 1rem; } legend { font-weight: 600; }
button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; cursor: pointer; max-width: 100%; white-space: normal; overflow-wrap: normal; }
select { font: inherit; padding: .4rem; max-width: 100%; }
table { width: 100%; table-layout: fixed; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem .4rem 0; overflow-wrap: anywhere; }
thead th { border-bottom: 2px solid; font-size: .9rem; } tbody tr + tr td { border-top: 1px solid color-mix(in srgb, currentColor 25%, transparent); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
/* A table of many columns: a card per row on a narrow screen, each cell with its column's name. */
@media (max-width: 44rem) {
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; }
  table.stack thead { position: absolute; left: -999px; }
  table.stack tr { padding: .5rem 0; } table.stack tbody tr + tr { border-top: 1px solid; }
  table.stack td { border: 0 !important; padding: .1rem 0; text-align: left; }
  table.stack td::before { content: attr(data-label) ": "; font-weight: 600; }
}
.badge { display: inline-block; padding: 0 .45rem; border: 1px solid; border-radius: .6rem; font-size: .875rem; white-space: nowrap; }
.badge[data-tone=good] { background: color-mix(in srgb, #2e7d32 18%, transparent); }
.badge[data-tone=busy] { background: color-mix(in srgb, #1565c0 18%, transparent); border-style: dashed; }
.badge[data-tone=bad] { background: color-mix(in srgb, #c62828 18%, transparent); border-width: 2px; }
.badge[data-tone=quiet] { opacity: .85; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; }
form.filters label { margin-top: 0; font-size: .9rem; } form.filters input { width: 10rem; } form.filters input[type=datetime-local] { width: 14rem; } form.filters button { margin-top: 0; }
td form.inline button { margin: 0 0 .25rem; }
button.quiet { margin-top: 0; padding: .35rem .6rem; background: none; border: 1px solid; }
form.inline { display: inline; }
:focus-visible { outline: 3px solid; outline-offset: 2px; }
.help { font-size: .9rem; margin: .25rem 0; }
.note { border-left: 4px solid; padding-left: .5rem; margin: .25rem 0; }
.flash { border: 1px solid; padding: .5rem .75rem; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem; }
code { overflow-wrap: anywhere; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; }
dialog { max-width: 36rem; }
pre { overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.plan { border-left: 4px solid; padding-left: .5rem; }
.transcript { padding-left: 1.5rem; } .transcript li { margin-bottom: .75rem; } .transcript p { margin: .25rem 0; }
.transcript li[data-error] > pre { border-left: 4px solid; padding-left: .5rem; }
.quiet { font-size: .9rem; opacity: .8; }
.timeline { padding-left: 1.5rem; } .timeline li { margin-bottom: .25rem; }
details.diff-file { margin: .5rem 0; border: 1px solid; padding: .25rem .5rem; } details.diff-file summary { cursor: pointer; }
pre.diff { white-space: pre-wrap; margin: .25rem 0; } pre.diff span { display: block; }
pre.diff [data-line=add] { background: color-mix(in srgb, #2e7d32 18%, transparent); }
pre.diff [data-line=del] { background: color-mix(in srgb, #c62828 18%, transparent); }
pre.diff [data-line=hunk] { font-style: italic; }
`;
