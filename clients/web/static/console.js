/* budgetwatch-web: the console's script (the CSP allows no other). Draws the
 * charts from /api/v1/series with Chart.js (Debian's libjs-chart.js) and keeps
 * the active alerts live from the daemon's stream (Server-Sent Events at
 * /events). Every text from the daemon goes in with textContent, never as
 * HTML. Without JavaScript the pages still work; only these two are missing. */
"use strict";

(function () {
  const zh = document.body.dataset.lang !== "en";
  const DAY = 86400;

  /* fen -> 万元 with two decimals, truncated toward zero (as the server). */
  function wan(fen) {
    const h = Math.trunc(fen / 10000);
    const m = Math.abs(h);
    const frac = String(m % 100).padStart(2, "0");
    return (h < 0 ? "-" : "") + Math.floor(m / 100) + "." + frac;
  }
  function pct(bp) {
    const m = Math.abs(bp);
    return (bp < 0 ? "-" : "") + Math.floor(m / 100) + "." + String(m % 100).padStart(2, "0") + "%";
  }
  /* In the server's zone (body data-tzoff, seconds east of UTC), as its pages. */
  const tzoff = Number(document.body.dataset.tzoff || 0);
  function when(t) {
    const d = new Date((t + tzoff) * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return d.getUTCFullYear() + "-" + p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes());
  }

  /* ---- charts ---- */
  function drawChart(canvas) {
    if (typeof Chart === "undefined") {
      canvas.insertAdjacentText("afterend", zh ? "图表库未加载（libjs-chart.js）。" : "Chart.js is not loaded (libjs-chart.js).");
      return;
    }
    fetch(canvas.dataset.series, { credentials: "same-origin" }).then((r) => r.json()).then((s) => {
      if (!s.ok) {
        canvas.parentNode.insertAdjacentText("afterend", s.error || "series unavailable");
        return;
      }
      const x = (t) => (t - s.year_start) / DAY;
      const y = (fen) => fen / 1000000;       /* 万元, for drawing only */
      const actual = [{ x: 0, y: 0 }].concat((s.points || []).map((p) => ({ x: x(p[0]), y: y(p[1]) })));
      if (s.now) actual.push({ x: x(Math.min(s.now, s.year_end)), y: actual[actual.length - 1].y });
      const plan = (s.plan || []).map((p) => ({ x: x(p[0]), y: y(p[1]) }));
      const end = x(Math.min(s.now || s.year_end, s.year_end));
      const pace = [{ x: 0, y: 0 }, { x: end, y: y(s.budget) * end / x(s.year_end) }];
      const chart = new Chart(canvas, {
        type: "line",
        data: {
          datasets: [
            { label: zh ? "累计支付" : "Paid", data: actual, stepped: true, borderColor: "#12355b", pointRadius: 0, borderWidth: 2 },
            { label: zh ? "计划" : "Plan", data: plan, borderColor: "#ef6c00", pointRadius: 3, borderWidth: 2 },
            { label: zh ? "序时进度" : "Pace", data: pace, borderColor: "#2e7d32", borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 },
          ],
        },
        options: {
          animation: false, maintainAspectRatio: false, parsing: false,
          scales: {
            x: { type: "linear", min: 0, max: x(s.year_end),
                 ticks: { callback: (v) => when(s.year_start + v * DAY).slice(5, 10) } },
            y: { beginAtZero: true, title: { display: true, text: zh ? "万元" : "10,000 yuan" } },
          },
        },
      });
      canvas.dataset.drawn = String(chart.data.datasets[0].data.length);
    }).catch((e) => canvas.insertAdjacentText("afterend", String(e)));
  }
  document.querySelectorAll("canvas[data-series]").forEach(drawChart);

  /* ---- live alerts ---- */
  const wrap = document.getElementById("active-wrap");
  if (!wrap || typeof EventSource === "undefined") return;
  const tbody = document.querySelector("#active-alerts tbody");
  const canHandle = wrap.dataset.canHandle === "1";
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  /* The words of the server's pages (kinds.h, the handling states, the bases). */
  const words = JSON.parse(wrap.dataset.labels || "{}");
  const kinds = words.kinds || {}, handling = words.handling || {}, bases = words.basis || {};
  const daemonKinds = new Set(["source_gap", "ledger_damaged"]);
  let seq = Number(wrap.dataset.seq || 0);

  function td(text, cls) {
    const c = document.createElement("td");
    if (cls) c.className = cls;
    c.textContent = text;
    return c;
  }
  function form(a, handle) {
    const f = document.createElement("form");
    f.className = handle ? "handle" : "ack"; f.method = "post"; f.action = handle ? "/alerts/handle" : "/alerts/ack";
    for (const [k, v] of [["csrf", csrf], ["project", a.project], ["kind", a.kind]]) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
    }
    if (handle) {
      const s = document.createElement("select");
      s.name = "state";
      for (const w of ["followed_up", "corrected", "judged_normal", "judged_violation"]) {
        const o = document.createElement("option");
        o.value = w; o.textContent = handling[w] || w; s.appendChild(o);
      }
      f.appendChild(s);
    }
    const note = document.createElement("input");
    note.name = "note"; note.placeholder = zh ? "备注" : "note"; note.maxLength = 500;
    const b = document.createElement("button");
    b.type = "submit";
    if (!handle) b.className = "ack-button";
    b.textContent = handle ? (zh ? "处理" : "Handle") : (zh ? "确认" : "Acknowledge");
    f.append(note, b);
    return f;
  }
  /* The band's colour from its name, as the server's bww_band_class. */
  function bandClass(a) {
    const n = a.band || "";
    if (n) return /红|critical|red/.test(n) ? "band-red" : /橙|orange/.test(n) ? "band-orange" : /蓝|blue/.test(n) ? "band-blue" : "band-yellow";
    return a.severity === "critical" ? "band-red" : "band-yellow";
  }
  function num(text, cls, key, v) {
    const c = td(text, cls);
    c.dataset[key] = String(v);
    return c;
  }
  function row(a) {
    const tr = document.createElement("tr");
    const project = !daemonKinds.has(a.kind);
    tr.className = bandClass(a) + " state-" + a.state + " new";
    tr.dataset.kind = a.kind; tr.dataset.project = a.project || ""; tr.dataset.seq = a.seq;
    tr.dataset.handling = a.handling || "";
    tr.appendChild(td(a.severity === "critical" ? (zh ? "严重" : "critical") : (zh ? "警告" : "warning"), "sev"));
    tr.appendChild(td(kinds[a.kind] || a.kind, "kind"));
    const band = td(a.band || (project ? "—" : ""), a.band ? "band " + bandClass(a) : "band");
    band.dataset.band = a.band || "";
    tr.appendChild(band);
    tr.appendChild(td(a.unit_name || ""));
    const p = document.createElement("td");
    p.className = "name";
    if (a.project) {
      const l = document.createElement("a");
      l.href = "/project?code=" + encodeURIComponent(a.project);
      l.textContent = a.project_name || a.project;
      p.appendChild(l);
    } else p.textContent = a.src || "";
    tr.appendChild(p);
    const st = handling[a.handling] ||
      (a.state === "acknowledged" ? (zh ? "已确认" : "acknowledged") : (zh ? "未处理" : "unhandled"));
    const state = td(st, "state");
    for (const [k, v] of [["by", a.by], ["note", a.note]]) {
      if (!v) continue;
      const s = document.createElement("span");
      s.className = k; s.textContent = v;
      state.append(" ", s);
    }
    tr.appendChild(state);
    tr.appendChild(td(when(a.since), "t"));
    tr.appendChild(td(when(a.at), "t"));
    if (project) {
      tr.appendChild(num(pct(a.rate_bp || 0), "num", "bp", a.rate_bp || 0));
      const basis = td(bases[a.basis] || a.basis || "", "basis");
      basis.dataset.basis = a.basis || "";
      tr.appendChild(basis);
      tr.appendChild(num(pct(a.lag_bp || 0), "num lag", "bp", a.lag_bp || 0));
      tr.appendChild(num(pct(a.pace_lag_bp || 0), "num pace-lag", "bp", a.pace_lag_bp || 0));
      tr.appendChild(num(wan(a.shortfall || 0), "num money", "fen", a.shortfall || 0));
      tr.appendChild(num(wan(a.pace_shortfall || 0), "num money", "fen", a.pace_shortfall || 0));
    } else {
      for (let i = 0; i < 6; i++) tr.appendChild(td(""));
    }
    const detail = td("", "detail");
    if (a.kind === "large_payment") {
      detail.textContent = (a.src || "") + "/" + (a.id || "") + " " + wan(a.amount || 0) + (zh ? " 万元" : " 10k yuan") +
        (a.ref ? (zh ? " 关联 " : " ref ") + a.ref : "");
    } else if (a.kind === "milestone" && a.milestone) {
      detail.textContent = (zh ? "节点 " : "milestone ") + a.milestone;
    } else if (a.kind === "source_gap") {
      detail.textContent = (a.src || "") + (zh ? " 序号 " : " seq ") + a.expected_seq + " → " + a.got_seq;
    } else if (a.kind === "ledger_damaged") {
      detail.textContent = a.note || "";
    }
    tr.appendChild(detail);
    const act = document.createElement("td");
    act.className = "actions";
    if (canHandle && project) {
      if (a.state !== "acknowledged") act.appendChild(form(a, false));
      act.appendChild(form(a, true));
    }
    tr.appendChild(act);
    return tr;
  }
  function apply(a) {
    if (a.seq && a.seq <= seq) return;          /* already in the page's snapshot */
    if (a.seq) seq = a.seq;
    if (a.kind === "source_gap" || a.kind === "ledger_damaged") {
      tbody.prepend(row(a));
      return;
    }
    const old = Array.from(tbody.rows).find((r) => r.dataset.project === (a.project || "") && r.dataset.kind === a.kind);
    if (a.state === "resolved") { if (old) old.remove(); return; }
    const fresh = row(a);
    const none = tbody.querySelector("tr.empty");
    if (none) none.remove();
    if (old) old.replaceWith(fresh); else tbody.prepend(fresh);
  }
  const live = document.getElementById("live");
  const es = new EventSource(wrap.dataset.stream);
  es.addEventListener("hello", () => {
    if (live) { live.textContent = live.dataset.on; live.classList.add("on"); }
    wrap.dataset.live = "1";
  });
  es.addEventListener("alert", (e) => apply(JSON.parse(e.data)));
  es.onerror = () => {
    if (live) { live.textContent = live.dataset.off; live.classList.remove("on"); }
    wrap.dataset.live = "0";
  };
})();
