/** The UI's stylesheet: readable without colour, visible focus, one column that fits a phone (390 px). */
export const STYLES = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0 auto; max-width: 46rem; padding: 1rem 1.25rem 3rem; }
header { display: flex; flex-wrap: wrap; column-gap: 1rem; justify-content: space-between; align-items: center; border-bottom: 1px solid; margin-bottom: 1.5rem; }
.brand { font-weight: 700; }
nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding-bottom: .5rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
label.check { font-weight: 400; margin-top: .25rem; }
input:not([type=checkbox]), textarea { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
fieldset { margin-top: 1rem; } legend { font-weight: 600; }
button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; cursor: pointer; max-width: 100%; white-space: normal; overflow-wrap: normal; }
select { font: inherit; padding: .4rem; max-width: 100%; }
table { width: 100%; table-layout: fixed; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem .35rem 0; overflow-wrap: anywhere; }
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
.transcript { padding-left: 1.5rem; } .transcript li { margin-bottom: .75rem; } .transcript p { margin: .25rem 0; }
.transcript li[data-error] > pre { border-left: 4px solid; padding-left: .5rem; }
.quiet { font-size: .9rem; opacity: .8; }
`;
