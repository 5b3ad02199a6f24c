/**
 * The status page as one self-contained document: markup, inline style and inline script, no
 * external asset, so it works on a greenhouse network without Internet access. The markup is
 * static; the script fills it from /api/status.
 */
import { PAGE_SCRIPT } from './page-script.js';

export const PAGE_STYLE = `
:root {
  --bg: #f4f6f3; --card: #fff; --text: #1d2a1f; --muted: #5f6b61; --line: #dde3dc;
  --ok: #2e7d32; --ok-bg: #e3f2e4; --ko: #c62828; --ko-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff3d6;
  --received: #1f6fb2; --written: #e07b00;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121712; --card: #1c231d; --text: #e6ede6; --muted: #9aa79b; --line: #2f3a30;
    --ok: #81c784; --ok-bg: #1f3321; --ko: #ef9a9a; --ko-bg: #3b1e1e; --warn: #ffcc80; --warn-bg: #3a2e17;
    --received: #64b5f6; --written: #ffb74d;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
body.stale main { opacity: 0.55; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 1.45rem; margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
.muted { color: var(--muted); }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.banner { margin: 12px 0; padding: 10px 14px; border-radius: 8px; font-weight: 600; }
.banner.ok { background: var(--ok-bg); color: var(--ok); }
.banner.ko { background: var(--ko-bg); color: var(--ko); }
.banner.unknown { background: var(--card); color: var(--muted); }
.banner.warn { background: var(--warn-bg); color: var(--warn); }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; margin-bottom: 12px; }
.card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 700; font-size: 0.9rem; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.ko { background: var(--ko-bg); color: var(--ko); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.unknown { background: var(--line); color: var(--muted); }
.big { font-size: 1.2rem; font-weight: 600; margin: 8px 0 2px; }
.alert { color: var(--ko); font-weight: 600; }
.alert.problem { margin-top: 8px; overflow-wrap: anywhere; }
.chart-wrap { display: grid; grid-template-columns: auto 1fr; gap: 4px 8px; align-items: stretch; }
.y-axis { display: flex; flex-direction: column; justify-content: space-between; text-align: right; font-size: 0.8rem; color: var(--muted); }
#chart { width: 100%; height: 160px; display: block; }
#chart .bar.received { fill: var(--received); }
#chart .bar.written { fill: var(--written); }
#chart .bar.live { fill-opacity: 0.45; }
#chart .grid { stroke: var(--line); stroke-dasharray: 4 4; }
#chart .axis { stroke: var(--muted); }
.x-axis { grid-column: 2; display: flex; justify-content: space-between; font-size: 0.8rem; color: var(--muted); }
.legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 0.9rem; margin-top: 6px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.swatch.received { background: var(--received); }
.swatch.written { background: var(--written); }
.swatch.live { background: linear-gradient(90deg, var(--received) 50%, var(--written) 50%); opacity: 0.45; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 8px 6px; border-top: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; border-top: none; }
ul.errors { list-style: none; margin: 0; padding: 0; }
.error-item { border-top: 1px solid var(--line); padding: 10px 0; }
.error-head { display: flex; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
.error-message, .error-valeur { margin: 6px 0 0; overflow-wrap: anywhere; }
.error-valeur code { white-space: pre-wrap; overflow-wrap: anywhere; }
details.serre { border-top: 1px solid var(--line); padding: 6px 0; }
details.serre > summary { cursor: pointer; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; padding: 4px 0; list-style: none; }
details.serre > summary::-webkit-details-marker { display: none; }
details.serre > summary::before { content: "▸"; color: var(--muted); width: 1em; }
details.serre[open] > summary::before { content: "▾"; }
.serre-name { font-weight: 700; }
.bac-grid { display: grid; gap: 8px; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); margin: 6px 0 8px; }
.bac { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.bac.has-silent { border-color: var(--ko); box-shadow: inset 3px 0 0 var(--ko); }
.bac.never { color: var(--muted); border-style: dashed; }
.bac-title { font-weight: 600; margin-bottom: 4px; }
ul.sensors { list-style: none; margin: 0; padding: 0; }
ul.sensors li { display: grid; grid-template-columns: 1fr auto; gap: 0 6px; padding: 3px 0; border-top: 1px dotted var(--line); font-size: 0.9rem; }
ul.sensors li:first-child { border-top: none; }
.sensor-name { color: var(--muted); grid-column: 1 / 3; font-size: 0.8rem; }
.sensor-value { font-weight: 600; }
.sensor-age { color: var(--muted); font-size: 0.8rem; text-align: right; }
ul.sensors li.silent { background: var(--ko-bg); border-radius: 4px; padding: 3px 4px; }
ul.sensors li.silent .sensor-name, ul.sensors li.silent .sensor-value, ul.sensors li.silent .sensor-age { color: var(--ko); }
.silence-box { background: var(--ko-bg); color: var(--ko); border-radius: 8px; padding: 10px 14px; margin: 8px 0; font-weight: 600; }
.silence-box ul { margin: 6px 0 0; font-weight: 400; }
footer { max-width: 1100px; margin: 0 auto; padding: 8px 16px 24px; font-size: 0.85rem; }
@media (max-width: 600px) {
  h1 { font-size: 1.2rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border-top: 1px solid var(--line); padding: 6px 0; }
  td { border: none; padding: 2px 0; }
  td[data-label]::before { content: attr(data-label) " : "; color: var(--muted); font-size: 0.85rem; }
}
`;

/** Grey dot until the first answer; the script colours it with the overall state. */
const INITIAL_ICON =
  'data:image/svg+xml,' +
  encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#9e9e9e"/></svg>');

export const PAGE_HTML = `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>État du pont MQTT → MySQL</title>
<link id="favicon" rel="icon" href="${INITIAL_ICON}">
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
  <h1>État du pont MQTT → MySQL</h1>
  <div id="meta" class="muted">Chargement…</div>
  <div id="overall" class="banner unknown" role="status" aria-live="polite">Chargement de l'état du pont…</div>
</header>
<main>
  <div class="grid">
    <section class="card" id="broker" aria-labelledby="broker-title">
      <div class="card-head"><h2 id="broker-title">Broker MQTT</h2><span id="broker-badge" class="badge unknown">…</span></div>
      <div id="broker-detail" class="muted"></div>
    </section>
    <section class="card" id="database" aria-labelledby="database-title">
      <div class="card-head"><h2 id="database-title">Base de données</h2><span id="database-badge" class="badge unknown">…</span></div>
      <div id="database-detail" class="muted"></div>
      <div id="database-problem" class="alert problem" role="alert" hidden></div>
      <div id="database-clock" class="muted"></div>
    </section>
    <section class="card" id="journal" aria-labelledby="journal-title">
      <div class="card-head"><h2 id="journal-title">File d'attente locale</h2><span id="journal-badge" class="badge unknown">…</span></div>
      <div id="journal-entries" class="big"></div>
      <div id="journal-detail" class="muted"></div>
      <div id="journal-retained" class="muted"></div>
      <div id="journal-recovery" class="alert" hidden></div>
      <div id="journal-full" class="alert" hidden>Le disque réservé est plein : le pont n'accepte plus de messages tant que la base ne les a pas reçus.</div>
    </section>
  </div>
  <section class="card" id="schools" aria-labelledby="schools-title" hidden>
    <div class="card-head"><h2 id="schools-title">Écoles</h2><span id="schools-count" class="muted"></span></div>
    <table>
      <thead><tr><th>École</th><th>Base de données</th><th>En attente</th><th>Dernier message</th><th>Lignes écrites</th></tr></thead>
      <tbody id="schools-body"></tbody>
    </table>
  </section>
  <section class="card" id="bacs" aria-labelledby="bacs-title">
    <div class="card-head"><h2 id="bacs-title">Bacs</h2><span id="bacs-count" class="muted"></span></div>
    <div id="readings-silence" class="silence-box" role="alert" hidden></div>
    <div id="bacs-list"><p class="muted">Chargement…</p></div>
    <p id="bacs-note" class="muted"></p>
  </section>
  <section class="card" id="throughput" aria-labelledby="throughput-title">
    <div class="card-head"><h2 id="throughput-title">Débit</h2><span id="chart-unit" class="muted"></span></div>
    <div class="chart-wrap">
      <div class="y-axis" aria-hidden="true"><span id="chart-max"></span><span id="chart-max-half"></span><span>0</span></div>
      <svg id="chart" role="img" aria-label="Débit" preserveAspectRatio="none" viewBox="0 0 910 100"></svg>
      <div class="x-axis" aria-hidden="true"><span id="chart-start"></span><span>maintenant</span></div>
    </div>
    <div class="legend">
      <span><span class="swatch received"></span>Messages reçus</span>
      <span><span class="swatch written"></span>Lignes écrites dans la base</span>
      <span><span class="swatch live"></span>Tranche en cours</span>
    </div>
    <p id="chart-summary" class="muted"></p>
  </section>
  <section class="card" id="controllers" aria-labelledby="controllers-title">
    <div class="card-head"><h2 id="controllers-title">Contrôleurs</h2><span id="controllers-count" class="muted"></span></div>
    <table>
      <thead><tr><th>Contrôleur</th><th>Adresse IP</th><th>État</th><th>Dernier changement</th></tr></thead>
      <tbody id="controllers-body"><tr><td colspan="4" class="muted">Chargement…</td></tr></tbody>
    </table>
  </section>
  <section class="card" id="errors" aria-labelledby="errors-title">
    <div class="card-head"><h2 id="errors-title">Dernières erreurs</h2><span id="errors-total" class="muted"></span></div>
    <ul id="errors-list" class="errors"><li class="muted">Chargement…</li></ul>
  </section>
</main>
<footer class="muted">Actualisation automatique toutes les 5 secondes. Données brutes : <a href="/api/status">/api/status</a> · métriques : <a href="/metrics">/metrics</a>.</footer>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
