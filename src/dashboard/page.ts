/**
 * The live dashboard: one self-contained HTML page (inline CSS and JS, canvas charts, no
 * CDN, no build step). It polls `dashboard/data` once a second and keeps two minutes of
 * history in the browser. A `?token=` in the page's address is sent on as a bearer token.
 */

/** The page, served at `/dashboard`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcp-perf dashboard</title>
<style>
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7f9; --card: #fff; --line: #e3e6ec; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b5; --bg: #14171d; --card: #1c2028; --line: #2c323d; } }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: baseline; gap: 1rem; padding: 12px 20px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 16px; margin: 0; }
  #status { color: var(--muted); }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 14px; padding: 16px 20px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  .card h2 { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 6px; }
  .num { font-size: 26px; font-variant-numeric: tabular-nums; }
  .nums { display: grid; grid-template-columns: repeat(2, 1fr); gap: 8px; }
  canvas { width: 100%; height: 140px; display: block; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td, th { text-align: left; padding: 3px 4px; border-bottom: 1px solid var(--line); }
  th { color: var(--muted); font-weight: 500; }
  .legend span { margin-right: 10px; font-size: 12px; }
</style>
</head>
<body>
<header><h1>mcp-perf</h1><span id="status">connecting…</span></header>
<main>
  <section class="card"><h2>Requests / s</h2><div class="num" id="rps">–</div><canvas id="chart-rps" data-points="0"></canvas></section>
  <section class="card"><h2>Latency (ms)</h2>
    <div class="legend"><span style="color:#3b82f6">p50 <b id="p50">–</b></span><span style="color:#f59e0b">p90 <b id="p90">–</b></span><span style="color:#ef4444">p99 <b id="p99">–</b></span></div>
    <canvas id="chart-latency" data-points="0"></canvas></section>
  <section class="card"><h2>Cache hit rate</h2><div class="num" id="hit-rate">–</div><canvas id="chart-cache" data-points="0"></canvas></section>
  <section class="card"><h2>Totals</h2>
    <div class="nums">
      <div><h2>Requests</h2><div class="num" id="requests">–</div></div>
      <div><h2>Tokens / request</h2><div class="num" id="tokens">–</div></div>
      <div><h2>Shed</h2><div class="num" id="shed">–</div></div>
      <div><h2>Rate-limited</h2><div class="num" id="rate-limited">–</div></div>
    </div></section>
  <section class="card"><h2>Slowest tools</h2>
    <table><thead><tr><th>tool</th><th>p99 ms</th><th>mean ms</th><th>requests</th></tr></thead><tbody id="tools"></tbody></table></section>
  <section class="card" id="pool-card" hidden><h2>Upstream pool</h2>
    <table><thead><tr><th>upstream</th><th>health</th><th>breaker</th><th>in flight</th><th>requests</th><th>failures</th><th>retries</th></tr></thead><tbody id="pool"></tbody></table>
    <div id="pool-budget" style="color:var(--muted);margin-top:6px"></div></section>
</main>
<script>
(() => {
  const KEEP = 120;
  const history = [];
  const token = new URLSearchParams(location.search).get('token');
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const url = new URL('dashboard/data', location.href.replace(/dashboard\\/?(\\?.*)?$/, ''));
  const $ = (id) => document.getElementById(id);
  const fmt = (n, digits) => n === null || n === undefined ? '–' : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });

  function draw(id, series, colors, fixedMax) {
    const canvas = $(id);
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = w * ratio; canvas.height = h * ratio;
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, w, h);
    let max = fixedMax || 0;
    if (!fixedMax) for (const s of series) for (const v of s) if (v > max) max = v;
    if (max <= 0) max = 1;
    ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--line');
    ctx.beginPath(); ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5); ctx.stroke();
    ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--muted');
    ctx.font = '11px system-ui'; ctx.fillText(fmt(max, 2), 2, 11);
    series.forEach((s, i) => {
      ctx.strokeStyle = colors[i]; ctx.lineWidth = 1.5; ctx.beginPath();
      s.forEach((v, j) => {
        const x = (j / (KEEP - 1)) * w, y = h - 2 - (v / max) * (h - 16);
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    canvas.dataset.points = String(series[0].length);
    canvas.dataset.max = String(max);
  }

  function render(d) {
    const prev = history[history.length - 1];
    const dt = prev ? (d.takenAt - prev.takenAt) / 1000 : 0;
    d.rate = prev && dt > 0 ? Math.max(0, (d.requests - prev.requests) / dt) : d.recentPerSecond;
    history.push(d);
    if (history.length > KEEP) history.shift();
    $('rps').textContent = fmt(d.rate, 1);
    $('p50').textContent = fmt(d.latency.p50, 2);
    $('p90').textContent = fmt(d.latency.p90, 2);
    $('p99').textContent = fmt(d.latency.p99, 2);
    $('hit-rate').textContent = d.cache.hitRate === null ? '–' : fmt(d.cache.hitRate * 100, 1) + ' %';
    $('requests').textContent = fmt(d.requests, 0);
    $('tokens').textContent = fmt(d.tokensPerRequest, 1);
    $('shed').textContent = fmt(d.shed, 0);
    $('rate-limited').textContent = fmt(d.rateLimited, 0);
    const rows = (id, list) => {
      $(id).innerHTML = '';
      for (const cells of list) {
        const tr = document.createElement('tr');
        for (const v of cells) { const td = document.createElement('td'); td.textContent = v; tr.appendChild(td); }
        $(id).appendChild(tr);
      }
    };
    rows('tools', d.slowestTools.map((t) => [t.tool, fmt(t.p99Ms, 2), fmt(t.meanMs, 2), fmt(t.requests, 0)]));
    $('pool-card').hidden = !d.pool;
    if (d.pool) {
      rows('pool', d.pool.upstreams.map((u) => [u.name, u.state, u.breaker, fmt(u.inFlight, 0), fmt(u.requests, 0), fmt(u.failures, 0), fmt(u.retries, 0)]));
      const b = d.pool.budget;
      $('pool-budget').textContent = 'retry budget: ' + fmt(b.retries, 0) + ' of ' + fmt(b.allowed, 0) + ' used' + (d.pool.draining.length ? ' · draining: ' + d.pool.draining.map((x) => x.name + ' (' + x.inFlight + ')').join(', ') : '');
    }
    draw('chart-rps', [history.map((h) => h.rate)], ['#10b981']);
    draw('chart-latency', [history.map((h) => h.latency.p50), history.map((h) => h.latency.p90), history.map((h) => h.latency.p99)], ['#3b82f6', '#f59e0b', '#ef4444']);
    draw('chart-cache', [history.map((h) => (h.cache.hitRate ?? 0) * 100)], ['#8b5cf6'], 100);
    $('status').textContent = d.metrics ? 'live · ' + new Date(d.takenAt).toLocaleTimeString() : 'metrics are off: add a metrics entry to the config';
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers, cache: 'no-store' });
      if (!response.ok) throw new Error(response.status + ' ' + response.statusText);
      render(await response.json());
    } catch (error) {
      $('status').textContent = 'disconnected: ' + error.message;
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
</script>
</body>
</html>
`;
