"""The HTML report's stylesheet, inlined into every report: system fonts only, nothing fetched."""

CSS = """
:root{--ink:#1d232b;--muted:#5b6470;--line:#dde2e8;--bg:#f5f7fa;--card:#fff;--pass:#0b7a55;--deny:#b42318;
--warn:#9a5b00;--adv:#3b5bb5;--waived:#6b5b95}
*{box-sizing:border-box}
html{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);
background:var(--bg)}
body{margin:0}
main{max-width:1120px;margin:0 auto;padding:8px 24px 48px}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f5;border-radius:4px;
padding:1px 4px;overflow-wrap:anywhere}
a{color:#0a58ca}
h2{font-size:1.35rem;margin:40px 0 6px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
h3{font-size:1.02rem;margin:22px 0 8px}
h4{margin:0 0 4px;font-size:.95rem}
.muted{color:var(--muted)}
.verdict{color:#fff;padding:28px 24px 22px}
.verdict>*{max-width:1072px;margin-left:auto;margin-right:auto}
.verdict.approve{background:linear-gradient(135deg,#0b7a55,#0f5e47)}
.verdict.block{background:linear-gradient(135deg,#b42318,#7f1d1d)}
.verdict .eyebrow{text-transform:uppercase;letter-spacing:.12em;font-size:.75rem;opacity:.85;margin-bottom:4px}
.verdict h1{font-size:2.1rem;margin-top:0;margin-bottom:4px;display:flex;align-items:center;gap:14px}
.verdict .mark{display:inline-grid;place-items:center;width:46px;height:46px;border-radius:50%;
background:rgba(255,255,255,.2);font-size:1.6rem}
.verdict .summary{font-size:1.1rem;margin-top:0;opacity:.95}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:6px 22px;margin-top:16px;
margin-bottom:0}
.facts div{min-width:0}
.facts .wide{grid-column:span 2}
.facts dt{font-size:.72rem;text-transform:uppercase;letter-spacing:.08em;opacity:.8}
.facts dd{margin:0;overflow-wrap:anywhere}
.facts code{background:rgba(255,255,255,.16);color:#fff;font-size:11.5px}
.verdict a{color:#fff}
.scorecard{list-style:none;padding:0;margin:12px 0 0;display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));
gap:14px}
.card a{display:block;height:100%;background:var(--card);border:1px solid var(--line);border-top:6px solid;
border-radius:10px;padding:14px 16px;color:inherit;text-decoration:none}
.card h3{margin:0 0 10px;font-size:.98rem}
.card p{margin:8px 0 0}
.card.pass a{border-top-color:var(--pass)}.card.deny a{border-top-color:var(--deny)}
.card.warn a{border-top-color:var(--warn)}
.badge{display:inline-flex;align-items:center;gap:5px;font-size:.78rem;font-weight:700;border-radius:999px;
padding:2px 10px 2px 8px;white-space:nowrap;border:1.5px solid}
.badge.pass{color:var(--pass);background:#e7f6ef}.badge.deny{color:var(--deny);background:#fdecea}
.badge.warn{color:var(--warn);background:#fff4e0}.badge.advisory{color:var(--adv);background:#eaf0ff}
.badge.waived{color:var(--waived);background:#f1edf9}
.gap{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2px 22px 18px;margin-top:28px}
.gap>h2{margin-top:18px}
.gap.deny{border-left:6px solid var(--deny)}.gap.warn{border-left:6px solid var(--warn)}
.gap.pass{border-left:6px solid var(--pass)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:6px 0}
table:has(colgroup){table-layout:fixed}
code.id{overflow-wrap:normal;word-break:normal}
table.findings td{overflow-wrap:anywhere}
.nowrap{white-space:nowrap}
th,td{text-align:left;vertical-align:top;padding:7px 10px;border-bottom:1px solid var(--line)}
th{font-size:.74rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);background:#fafbfc}
tbody tr:nth-child(even){background:#fbfcfd}
table.findings td:nth-child(4),table.findings td:nth-child(5){font-variant-numeric:tabular-nums;font-weight:600}
.yes{color:var(--pass);font-weight:600}.no{color:var(--deny);font-weight:600}
.ok{margin:10px 0}
.missing{border:1px dashed #c9a227;background:#fffbea;border-radius:8px;padding:10px 14px;margin:14px 0}
.missing ul{margin:0;padding-left:20px}
figure.plot{margin:22px 0 8px;border-top:1px solid var(--line);padding-top:14px}
figure .svg svg{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.86rem;margin-top:6px}
details{margin:6px 0;font-size:.88rem}
summary{cursor:pointer;color:#0a58ca}
.meter{position:relative;height:16px;background:#eef1f5;border-radius:8px;max-width:520px;overflow:visible}
.meter .yes-fill,.meter .no-fill{position:absolute;left:0;top:0;bottom:0;border-radius:8px}
.meter .yes-fill{background:var(--pass)}.meter .no-fill{background:repeating-linear-gradient(45deg,var(--deny) 0 6px,#d04a3f 6px 12px)}
.meter .tick{position:absolute;top:-4px;bottom:-4px;width:3px;background:var(--ink)}
section>h2{border-bottom:1px solid var(--line);padding-bottom:6px}
.gap>h2{border:0;padding:0}
@media print{html{background:#fff}.gap{break-inside:avoid-page}details{display:block}
.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
