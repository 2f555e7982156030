// pinsearch web page: search results as cards, Related Pins per result, LTR contributions on demand.
// No framework and no CDN: plain DOM calls against /_pinsearch/api/*.
"use strict";
(function () {
  const API = "/_pinsearch/api/";
  const $ = (id) => document.getElementById(id);
  let lastQuery = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  async function call(name, params) {
    const url = API + name + "?" + new URLSearchParams(params).toString();
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (err) {
      throw new Error("the server did not answer (" + err.message + ")");
    }
    let payload = null;
    try { payload = await response.json(); } catch (err) { /* not JSON */ }
    if (!response.ok) {
      throw new Error((payload && payload.error) || ("HTTP " + response.status + " " + response.statusText));
    }
    return payload;
  }

  function showMessage(text, isError) {
    const box = $("message");
    if (!text) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.className = "message" + (isError ? " error" : "");
    box.textContent = text;
  }

  function image(sig) {
    return el("img", { src: "/_pinsearch/placeholder/" + encodeURIComponent(sig || "none") + ".svg",
                       alt: "placeholder from image signature", loading: "lazy" });
  }

  function chips(values, cls, limit) {
    const list = (values || []).slice(0, limit || 8);
    return el("div", { class: "chips" }, list.map((v) => el("span", { class: "chip " + cls }, v)));
  }

  async function toggleContributions(hit, holder, button) {
    if (holder.firstChild) { holder.textContent = ""; button.textContent = "Why?"; return; }
    button.disabled = true;
    try {
      const out = await call("explain", { q: lastQuery, pin: hit.pin_id });
      if (!out.model) {
        holder.appendChild(el("div", { class: "meta" }, out.message || "no active model"));
      } else {
        const rows = Object.entries(out.contributions).map(([name, value]) =>
          el("tr", {}, el("td", {}, name), el("td", { class: "v" }, value.toFixed(4))));
        rows.push(el("tr", {}, el("td", {}, el("b", {}, "LTR score")), el("td", { class: "v" }, out.ltr_score.toFixed(4))));
        holder.appendChild(el("table", { class: "contrib" }, rows));
      }
      button.textContent = "Hide";
    } catch (err) {
      holder.appendChild(el("div", { class: "meta" }, "could not explain: " + err.message));
    } finally {
      button.disabled = false;
    }
  }

  function card(hit) {
    const contributions = el("div", { class: "contributions" });
    const why = el("button", { type: "button", class: "why" }, "Why?");
    why.addEventListener("click", () => toggleContributions(hit, contributions, why));
    const related = el("button", { type: "button", class: "open-related" }, "Related Pins");
    related.addEventListener("click", () => openRelated(hit));
    return el("article", { class: "card result", "data-pin": hit.pin_id },
      image(hit.image_signature),
      el("div", { class: "body" },
        el("h3", {}, hit.title || "(untitled pin)"),
        hit.description ? el("p", {}, hit.description) : null,
        chips(hit.board_names, "board", 4),
        el("div", { class: "meta" }, hit.link_domain || "no link", " · ", hit.pin_id),
        chips(hit.annotation_terms, "annotation", 8),
        chips(hit.interest_ids, "interest", 6),
        el("div", { class: "score" }, "score " + hit.score.toFixed(4)),
        el("div", { class: "actions" }, related, why),
        contributions));
  }

  function relatedCard(hit) {
    return el("article", { class: "card related-hit", "data-pin": hit.pin_id },
      image(hit.image_signature),
      el("div", { class: "body" },
        el("h3", {}, hit.title || "(untitled pin)"),
        chips(hit.board_names, "board", 3),
        el("div", { class: "meta" }, (hit.sources || []).join(" + ") || "text"),
        el("div", { class: "score" }, "score " + hit.score.toFixed(4))));
  }

  async function openRelated(hit) {
    const panel = $("related"), body = $("related-body");
    panel.hidden = false;
    $("related-title").textContent = "Related to: " + (hit.title || hit.pin_id);
    body.textContent = "loading…";
    try {
      const out = await call("related", { pin: hit.pin_id, k: 12 });
      body.textContent = "";
      body.appendChild(el("div", { class: "meta" }, out.hits.length + " pins · " + out.took_ms + " ms · model: " + (out.model || "none (first pass only)")));
      if (!out.hits.length) body.appendChild(el("div", { class: "meta empty" }, "No related pins found."));
      out.hits.forEach((h) => body.appendChild(relatedCard(h)));
    } catch (err) {
      body.textContent = "";
      body.appendChild(el("div", { class: "message error" }, "Related Pins failed: " + err.message));
    }
  }

  async function search(query) {
    lastQuery = query;
    const results = $("results");
    results.textContent = "";
    $("related").hidden = true;
    if (!query) { showMessage("Type a query to search the pins."); return; }
    showMessage("");
    results.setAttribute("aria-busy", "true");
    try {
      const out = await call("search", { q: query, k: 24 });
      if (!out.hits.length) showMessage("No pins match “" + query + "”.");
      out.hits.forEach((hit) => results.appendChild(card(hit)));
      $("status").dataset.lastTook = out.took_ms;
    } catch (err) {
      showMessage("Search failed: " + err.message, true);
    } finally {
      results.removeAttribute("aria-busy");
    }
  }

  async function loadStatus() {
    const status = $("status");
    try {
      const s = await call("status", {});
      status.textContent = "";
      status.append("index ", el("b", { id: "index-version" }, s.concrete_index || s.index), " · ",
        el("b", {}, String(s.docs)), " pins · search model ", el("b", { id: "search-model" }, s.models.search || "none"),
        " · related model ", el("b", {}, s.models.related || "none"), " · v" + s.pinsearch_version);
      if (!s.exists || s.docs === 0) {
        showMessage("The index [" + s.index + "] is empty: build it with `pinsearch reindex CORPUS`, then reload this page.", true);
      }
      return s;
    } catch (err) {
      status.textContent = "status unavailable";
      showMessage("The server did not answer: " + err.message, true);
      return null;
    }
  }

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("q").value.trim();
    history.replaceState(null, "", q ? "?q=" + encodeURIComponent(q) : location.pathname);
    search(q);
  });
  $("related-close").addEventListener("click", () => { $("related").hidden = true; });

  loadStatus().then((s) => {
    const q = new URLSearchParams(location.search).get("q");
    if (q && s && s.docs) { $("q").value = q; search(q); }
  });
})();
