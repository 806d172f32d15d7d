// The sandbox page: renders the emulator's state (server-sent) and posts what you do.
// Plain JS, no build step. Everything the bot posted is rendered from its Block Kit.
"use strict";

// Where you are (the conversation, the assistant panel's thread) outlives a reload, as in Slack.
const saved = (key) => { try { return localStorage.getItem(`sandbox.${key}`); } catch { return null; } };
const save = (key, value) => {
  try { value ? localStorage.setItem(`sandbox.${key}`, value) : localStorage.removeItem(`sandbox.${key}`); } catch { /* private mode */ }
};

let state = null;
let current = saved("conversation"); // the open conversation's ID
let threadTarget = null;  // the thread the composer replies in
let modalKey = null;      // what the modal on screen was rendered from
let assistantThread = saved("assistantThread"); // the assistant panel's thread (null: closed)
let linked = null;        // a message a link points at (#message/<channel>/<ts>): shown once
const chosen = {};        // feedback buttons clicked: "ts:block" -> "positive" | "negative"

const $ = (selector) => document.querySelector(selector);
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.ok ? response.json() : { error: await response.text() };
}

// -- text ---------------------------------------------------------------------------------

function userName(id) {
  return (state && state.users[id]) || id;
}

function mention(id) {
  return `<span class="mention">@${esc(userName(id))}</span>`;
}

// A channel as Slack shows it: its name (`<#C…>` carries only the ID), else the label given.
function channelMention(id, label) {
  const known = state && state.conversations.find((c) => c.id === id && c.kind !== "im");
  return `<span class="mention">#${esc(known ? known.name : label || id)}</span>`;
}

// A code block's text as Slack shows it: without the line break after the opening fence and
// the one before the closing fence.
function codeBlock(code) {
  return `<pre><code>${esc(String(code).replace(/^\n/, "").replace(/\n$/, ""))}</code></pre>`;
}

function link(url, label) {
  return /^(https?:|mailto:)/i.test(url)
    ? `<a href="${esc(url)}" target="_blank" rel="noopener">${label}</a>`
    : label;
}

// Inline formatting. `stash` keeps finished HTML out of later replacements.
function formatInline(text, slackStyle) {
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  let s = String(text ?? "");
  if (slackStyle) {
    // Slack's control sequences: <@U…>, <#C…|name>, <!here>, <url|label>.
    s = s.replace(/<([^<>\n]+)>/g, (_, inner) => {
      const [target, label] = inner.split("|");
      if (target.startsWith("@")) return keep(mention(target.slice(1)));
      if (target.startsWith("#")) return keep(channelMention(target.slice(1), label));
      if (target.startsWith("!")) return keep(`<span class="mention">@${esc(label || target.slice(1))}</span>`);
      return keep(link(target, esc(label || target)));
    });
    s = s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    s = s.replace(/```([\s\S]*?)```/g, (_, code) => keep(codeBlock(code)));
  } else {
    s = s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    s = s.replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => keep(mention(id)));
    s = s.replace(/<#([CG][A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id, label) => keep(channelMention(id, label)));
    s = s.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_, label, url) => keep(link(url, esc(label))));
  }
  s = s.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${esc(code)}</code>`));
  s = s.replace(/\bhttps?:\/\/[^\s<>()]+/g, (url) => keep(link(url, esc(url))));
  s = esc(s);
  if (slackStyle) {
    s = s.replace(/(^|[^\w*])\*([^*\n]+)\*(?!\w)/g, "$1<strong>$2</strong>");
    s = s.replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w~])~([^~\n]+)~(?!\w)/g, "$1<del>$2</del>");
    s = s.replace(/^&gt;\s?(.*)$/gm, "<blockquote>$1</blockquote>");
  } else {
    s = s.replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/__([^_\n]+)__/g, "<strong>$1</strong>");
    s = s.replace(/(^|[^\w*])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
    s = s.replace(/~~([^~\n]+)~~/g, "<del>$1</del>");
  }
  s = s.replace(/\n/g, "<br>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, n) => stash[Number(n)]);
}

// Slack's mrkdwn (text objects, what people type).
function mrkdwn(text) {
  return formatInline(text, true);
}

// Standard markdown (`markdown` blocks, streamed answers).
function markdown(source) {
  const lines = String(source ?? "").replace(/\r\n/g, "\n").split("\n");
  let html = "";
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) html += `<p>${formatInline(paragraph.join("\n"), false)}</p>`;
    paragraph = [];
  };
  const take = (pattern) => {
    const taken = [];
    while (i < lines.length && pattern.test(lines[i])) taken.push(lines[i++].replace(pattern, ""));
    return taken;
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let match;
    if (/^\s*```/.test(line)) {
      flush();
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
      i++;
      html += codeBlock(code.join("\n"));
    } else if ((match = /^(#{1,6})\s+(.*)$/.exec(line))) {
      flush();
      const level = Math.min(match[1].length + 2, 6);
      html += `<h${level}>${formatInline(match[2], false)}</h${level}>`;
      i++;
    } else if (/^\s*>/.test(line)) {
      flush();
      html += `<blockquote>${markdown(take(/^\s*>\s?/).join("\n"))}</blockquote>`;
    } else if (/^\s*[-*+]\s+/.test(line)) {
      flush();
      html += `<ul>${take(/^\s*[-*+]\s+/).map((t) => `<li>${formatInline(t, false)}</li>`).join("")}</ul>`;
    } else if (/^\s*\d+[.)]\s+/.test(line)) {
      flush();
      html += `<ol>${take(/^\s*\d+[.)]\s+/).map((t) => `<li>${formatInline(t, false)}</li>`).join("")}</ol>`;
    } else if (/^\s*(-{3,}|\*{3,})\s*$/.test(line)) {
      flush();
      html += "<hr>";
      i++;
    } else if (!line.trim()) {
      flush();
      i++;
    } else {
      paragraph.push(line);
      i++;
    }
  }
  flush();
  return html;
}

function textObject(t) {
  if (!t) return "";
  return t.type === "mrkdwn" ? mrkdwn(t.text) : esc(t.text);
}

// -- Block Kit ----------------------------------------------------------------------------

function blocksHtml(blocks, where) {
  return (blocks || []).map((block, index) => blockHtml(block, index, where)).join("");
}

function blockHtml(b, index, where) {
  switch (b.type) {
    case "markdown":
      return `<div class="blk markdown">${markdown(b.text)}</div>`;
    case "section": {
      const fields = (b.fields || []).map((f) => `<div>${textObject(f)}</div>`).join("");
      const accessory = b.accessory ? elementHtml(b.accessory, index, "accessory", where) : "";
      return `<div class="blk section"><div>${textObject(b.text)}${
        fields ? `<div class="blk fields">${fields}</div>` : ""}</div>${accessory}</div>`;
    }
    case "header":
      return `<div class="blk header">${textObject(b.text)}</div>`;
    case "divider":
      return "<hr>";
    case "context":
      return `<div class="blk context">${(b.elements || [])
        .map((e) => (e.type === "image" ? `<img src="${esc(e.image_url)}" alt="${esc(e.alt_text)}">` : textObject(e)))
        .join(" ")}</div>`;
    case "actions":
    case "context_actions":
      return `<div class="blk ${b.type}">${(b.elements || [])
        .map((e, j) => elementHtml(e, index, j, where)).join("")}</div>`;
    case "image":
      return `<div class="blk">${b.title ? textObject(b.title) : ""}<img class="image" src="${esc(b.image_url)}" alt="${esc(b.alt_text)}"></div>`;
    case "rich_text":
      return `<div class="blk rich_text">${(b.elements || []).map(richTextHtml).join("")}</div>`;
    case "input":
      return inputHtml(b, index);
    case "data_visualization":
      return chartHtml(b);
    case "data_table":
      return tableHtml(b);
    default:
      return `<div class="blk unknown">[a ${esc(b.type)} block]</div>`;
  }
}

// -- charts and tables (Slack draws these itself; a plain SVG is enough here) ----------------

const SERIES_COLORS = ["#1264a3", "#e01e5a", "#2eb67d", "#ecb22e", "#36c5f0", "#7c3085"];

function chartHtml(b) {
  const chart = b.chart || {};
  const svg = chart.type === "pie" ? pieSvg(chart.segments || []) : xySvg(chart);
  const names = chart.type === "pie"
    ? (chart.segments || []).map((s) => `${s.label} (${s.value})`)
    : (chart.series || []).map((s) => s.name);
  const legend = names.map((name, i) =>
    `<span><i style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></i>${esc(name)}</span>`).join("");
  return `<figure class="blk chart" data-chart-type="${esc(chart.type)}"><figcaption>${esc(b.title)}</figcaption>${svg}<div class="legend">${legend}</div></figure>`;
}

function xySvg(chart) {
  const W = 560, H = 220, left = 40, right = 10, top = 10, bottom = 46;
  const categories = (chart.axis_config || {}).categories || [];
  const series = chart.series || [];
  const values = series.flatMap((s) => (s.data || []).map((p) => Number(p.value)));
  const max = Math.max(1, ...values);
  const n = Math.max(categories.length, 1);
  const band = (W - left - right) / n;
  const x = (i) => left + band * (i + 0.5);
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  let marks = "";
  series.forEach((s, k) => {
    const color = SERIES_COLORS[k % SERIES_COLORS.length];
    const points = (s.data || []).map((p) => [categories.indexOf(p.label), Number(p.value)]);
    if (chart.type === "bar") {
      const width = Math.max(2, (band * 0.8) / series.length);
      marks += points.map(([i, v]) => `<rect x="${x(i) - band * 0.4 + k * width}" y="${y(v)}" width="${width}" height="${y(0) - y(v)}" fill="${color}"><title>${esc(s.name)} ${esc(categories[i])}: ${v}</title></rect>`).join("");
    } else {
      const path = points.map(([i, v]) => `${x(i)},${y(v)}`).join(" ");
      if (chart.type === "area") {
        marks += `<polygon points="${x(points[0][0])},${y(0)} ${path} ${x(points[points.length - 1][0])},${y(0)}" fill="${color}" opacity="0.3"/>`;
      }
      marks += `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`;
      marks += points.map(([i, v]) => `<circle cx="${x(i)}" cy="${y(v)}" r="3" fill="${color}"><title>${esc(s.name)} ${esc(categories[i])}: ${v}</title></circle>`).join("");
    }
  });
  const step = Math.ceil(n / 10);
  const labels = categories.map((c, i) => (i % step ? "" :
    `<text x="${x(i)}" y="${H - bottom + 14}" text-anchor="middle" class="tick">${esc(c)}</text>`)).join("");
  const axis = (chart.axis_config || {}).x_label;
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(chart.type)} chart">
    <line x1="${left}" y1="${y(0)}" x2="${W - right}" y2="${y(0)}" class="axis"/>
    <text x="${left - 6}" y="${y(max) + 4}" text-anchor="end" class="tick">${max}</text>
    <text x="${left - 6}" y="${y(0) + 4}" text-anchor="end" class="tick">0</text>
    ${marks}${labels}
    ${axis ? `<text x="${W / 2}" y="${H - 6}" text-anchor="middle" class="axis-label">${esc(axis)}</text>` : ""}
  </svg>`;
}

function pieSvg(segments) {
  const total = segments.reduce((sum, s) => sum + Number(s.value), 0) || 1;
  let angle = -Math.PI / 2;
  const arcs = segments.map((s, i) => {
    const share = Number(s.value) / total;
    const start = angle;
    angle += share * 2 * Math.PI;
    const [x1, y1, x2, y2] = [Math.cos(start), Math.sin(start), Math.cos(angle), Math.sin(angle)].map((v) => 80 * v);
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const shape = share >= 0.999
      ? `<circle r="80" fill="${color}"/>`
      : `<path d="M0,0 L${x1},${y1} A80,80 0 ${share > 0.5 ? 1 : 0} 1 ${x2},${y2} Z" fill="${color}"/>`;
    return shape.replace("/>", `><title>${esc(s.label)}: ${s.value}</title></${shape.startsWith("<circle") ? "circle" : "path"}>`);
  }).join("");
  return `<svg viewBox="-90 -90 180 180" class="pie" role="img" aria-label="pie chart">${arcs}</svg>`;
}

function tableHtml(b) {
  const [header, ...rows] = b.rows || [];
  const cell = (c) => {
    if (c.type === "raw_number") return `<td class="number">${esc(c.text ?? c.value)}</td>`;
    if (c.type === "rich_text") return `<td>${(c.elements || []).map(richTextHtml).join("")}</td>`;
    return `<td>${esc(c.text)}</td>`;
  };
  return `<div class="blk data-table"><table><caption>${esc(b.caption)}</caption>
    <thead><tr>${(header || []).map((c) => `<th>${esc(c.text ?? c.value)}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("")}</tbody></table></div>`;
}

function richTextHtml(e) {
  const inline = (x) => {
    if (x.type === "user") return mention(x.user_id);
    if (x.type === "link") return link(x.url, esc(x.text || x.url));
    if (x.type === "channel") return channelMention(x.channel_id);
    if (x.type === "emoji") return x.unicode ? String.fromCodePoint(...x.unicode.split("-").map((h) => parseInt(h, 16))) : `:${esc(x.name)}:`;
    let s = esc(x.text);
    const st = x.style || {};
    if (st.code) s = `<code>${s}</code>`;
    if (st.bold) s = `<strong>${s}</strong>`;
    if (st.italic) s = `<em>${s}</em>`;
    if (st.strike) s = `<del>${s}</del>`;
    return s.replace(/\n/g, "<br>");
  };
  const items = (e.elements || []);
  switch (e.type) {
    case "rich_text_section": return `<div>${items.map(inline).join("")}</div>`;
    case "rich_text_quote": return `<blockquote>${items.map(inline).join("")}</blockquote>`;
    case "rich_text_preformatted": return `<pre>${items.map(inline).join("").replace(/^(<br>)+|(<br>)+$/g, "")}</pre>`;
    case "rich_text_list": {
      const tag = e.style === "ordered" ? "ol" : "ul";
      return `<${tag}>${items.map((s) => `<li>${richTextHtml(s)}</li>`).join("")}</${tag}>`;
    }
    default: return "";
  }
}

// An interactive element of a message: clicking or choosing sends a block_actions.
function elementHtml(e, blockIndex, elementIndex, where) {
  const data = `data-source="${esc(where.source)}" data-ts="${esc(where.ts)}" data-channel="${esc(where.channel || "")}" data-block="${blockIndex}" data-element="${elementIndex}"`;
  const options = (e.options || []).concat(...(e.option_groups || []).map((g) => g.options || []));
  switch (e.type) {
    case "button":
    case "workflow_button":
      return `<button type="button" class="btn ${esc(e.style || "")}" data-act="click" ${data}>${textObject(e.text)}</button>`;
    case "icon_button":
      return `<button type="button" class="btn" data-act="click" ${data} title="${esc(e.accessibility_label || "")}">${e.text ? textObject(e.text) : esc(e.icon)}</button>`;
    case "feedback_buttons":
      return ["positive", "negative"].map((choice) => {
        const button = e[`${choice}_button`] || {};
        const picked = chosenFeedback(where, blockIndex) === choice ? " chosen" : "";
        return `<button type="button" class="btn feedback${picked}" data-act="click" data-choice="${choice}" ${data} aria-label="${esc(button.accessibility_label || choice)}" title="${esc(button.accessibility_label || "")}">${textObject(button.text)}</button>`;
      }).join("");
    case "static_select":
    case "overflow": {
      const initial = e.initial_option ? e.initial_option.value : null;
      return `<select class="el" data-act="select" ${data}><option value="">${
        e.type === "overflow" ? "…" : textObject(e.placeholder) || "Select"}</option>${options
        .map((o) => `<option value="${esc(o.value)}" ${o.value === initial ? "selected" : ""}>${textObject(o.text)}</option>`).join("")}</select>`;
    }
    case "channels_select":
      return `<select class="el" data-act="select" ${data}><option value="">${textObject(e.placeholder) || "Channel"}</option>${state.conversations
        .filter((c) => c.kind !== "im")
        .map((c) => `<option value="${esc(c.id)}" ${c.id === e.initial_channel ? "selected" : ""}># ${esc(c.name)}</option>`).join("")}</select>`;
    case "image":
      return `<img src="${esc(e.image_url)}" alt="${esc(e.alt_text)}" width="48">`;
    default:
      return `<span class="unknown">[${esc(e.type)}]</span>`;
  }
}

// An input block of a modal.
function inputHtml(b, index) {
  const e = b.element || {};
  const name = `input-${index}`;
  const options = (e.options || []).concat(...(e.option_groups || []).map((g) => g.options || []));
  const initial = e.initial_option ? e.initial_option.value : null;
  const initials = (e.initial_options || []).map((o) => o.value);
  const placeholder = e.placeholder ? esc(e.placeholder.text) : "";
  let control;
  switch (e.type) {
    case "plain_text_input":
      control = e.multiline
        ? `<textarea id="${name}" rows="4" placeholder="${placeholder}" ${e.max_length ? `maxlength="${e.max_length}"` : ""}>${esc(e.initial_value || "")}</textarea>`
        : `<input id="${name}" type="text" placeholder="${placeholder}" value="${esc(e.initial_value || "")}" ${e.max_length ? `maxlength="${e.max_length}"` : ""}>`;
      break;
    case "number_input":
    case "email_text_input":
    case "url_text_input": {
      const type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[e.type];
      control = `<input id="${name}" type="${type}" placeholder="${placeholder}" value="${esc(e.initial_value || "")}">`;
      break;
    }
    case "static_select":
    case "multi_static_select":
      control = `<select id="${name}" ${e.type === "multi_static_select" ? "multiple" : ""}>${
        e.type === "static_select" ? `<option value="">${placeholder || "Select an option"}</option>` : ""}${options
        .map((o) => `<option value="${esc(o.value)}" ${o.value === initial || initials.includes(o.value) ? "selected" : ""}>${textObject(o.text)}</option>`)
        .join("")}</select>`;
      break;
    case "radio_buttons":
    case "checkboxes": {
      const type = e.type === "radio_buttons" ? "radio" : "checkbox";
      control = options.map((o, j) => `<label class="choice"><input type="${type}" name="${name}" value="${esc(o.value)}" ${
        o.value === initial || initials.includes(o.value) ? "checked" : ""} id="${name}-${j}"> ${textObject(o.text)}${
        o.description ? ` <span class="hint-text">${textObject(o.description)}</span>` : ""}</label>`).join("");
      break;
    }
    case "datepicker":
      control = `<input id="${name}" type="date" value="${esc(e.initial_date || "")}">`;
      break;
    case "timepicker":
      control = `<input id="${name}" type="time" value="${esc(e.initial_time || "")}">`;
      break;
    default:
      control = `<span class="unknown">[a ${esc(e.type)} input: not shown in the sandbox]</span>`;
  }
  return `<div class="input-block" data-input-index="${index}" data-type="${esc(e.type)}" data-block-id="${esc(b.block_id)}">
    <label class="label" for="${name}">${textObject(b.label)}${b.optional ? ' <span class="optional">(optional)</span>' : ""}</label>
    ${control}
    ${b.hint ? `<div class="hint-text">${textObject(b.hint)}</div>` : ""}
    <div class="field-error" data-error-for="${esc(b.block_id)}"></div>
  </div>`;
}

// -- rendering ----------------------------------------------------------------------------

const HOME = "home"; // the app's Home tab, beside the conversations

function render() {
  if (current !== HOME && (!current || !state.conversations.some((c) => c.id === current))) {
    current = (state.conversations.find((c) => c.kind === "im") || state.conversations[0]).id;
  }
  openLinked();
  save("conversation", current === HOME ? null : current); // the Home tab opens by a click
  save("assistantThread", assistantThread);
  renderSidebar();
  renderConversation();
  renderAssistant();
  renderModal();
  renderDeliveries();
  showLinked();
}

// A message's link (what chat.getPermalink gives in the sandbox): its conversation, or the
// assistant chat it is in, opened at the message.
function linkedMessage() {
  const match = /^#message\/([A-Z0-9]+)\/([0-9.]+)$/.exec(window.location.hash);
  return match ? { channel: match[1], ts: match[2], shown: false } : null;
}

function openLinked() {
  if (!linked || linked.opened) return;
  const item = (state.items[linked.channel] || []).find((it) => it.ts === linked.ts);
  const root = item && (item.thread_ts || item.ts);
  const chat = state.assistant_threads.find((t) => t.channel === linked.channel && t.thread_ts === root);
  if (chat) {
    assistantThread = chat.thread_ts;
  } else if (state.conversations.some((c) => c.id === linked.channel)) {
    current = linked.channel;
  }
  linked.opened = true;
}

function showLinked() {
  if (!linked || linked.shown) return;
  const node = document.querySelector(`.msg[data-ts="${CSS.escape(linked.ts)}"]`);
  if (!node) return;
  for (const old of document.querySelectorAll(".msg.linked")) old.classList.remove("linked");
  node.classList.add("linked");
  node.scrollIntoView({ block: "center" });
  linked.shown = true;
}

function renderSidebar() {
  const item = (c) => `<li><button type="button" data-conversation="${esc(c.id)}" class="${c.id === current ? "current" : ""}">${
    c.kind === "im" ? "● " : "# "}${esc(c.name)}</button></li>`;
  $("#channels").innerHTML = state.conversations.filter((c) => c.kind !== "im").map(item).join("");
  $("#dms").innerHTML = state.conversations.filter((c) => c.kind === "im").map(item).join("");
  $("#apps").innerHTML = `<li><button type="button" data-conversation="${HOME}" class="${
    current === HOME ? "current" : ""}">⌂ ${esc(state.bot.name)} · Home</button></li>`;
  // Earlier chats with the assistant, newest first: a click opens one in the panel again.
  const chats = [...state.assistant_threads].sort((a, b) => Number(b.thread_ts) - Number(a.thread_ts));
  $("#assistant-chats-title").hidden = !chats.length;
  $("#assistant-chats").innerHTML = chats.map((t) => `<li><button type="button" data-assistant-thread="${esc(t.thread_ts)}" class="${
    t.thread_ts === assistantThread ? "current" : ""}" title="Open this chat in the assistant panel">✦ ${esc(t.title || "New chat")}</button></li>`).join("");
  const mlflow = $("#mlflow-link");
  if (state.mlflow_url) {
    mlflow.href = state.mlflow_url;
    mlflow.hidden = false;
  }
  const dataset = $("#dataset-link");
  if (state.dataset_url) {
    dataset.href = state.dataset_url;
    dataset.hidden = false;
  }
}

// The app's Home tab: the view it published for you (views.publish).
function renderHome() {
  $("#conversation-header").innerHTML = `${esc(state.bot.name)}<small>Home: the app's own page</small>`;
  $("#composer").hidden = true;
  $("#messages").innerHTML = state.home
    ? `<div class="home-view">${blocksHtml(state.home.blocks, { source: "home", ts: "home", channel: "" })}</div>`
    : `<div class="empty">Opening the app's Home tab…</div>`;
}

function renderConversation() {
  if (current === HOME) return renderHome();
  $("#composer").hidden = false;
  const conversation = state.conversations.find((c) => c.id === current);
  const im = conversation.kind === "im";
  $("#conversation-header").innerHTML = `${im ? "" : "# "}${esc(conversation.name)}<small>${
    conversation.digest ? "where the bot posts its weekly digest and its alerts"
      : im ? "your direct messages with the app" : "mention the bot with @bot to ask it here"}</small>${
    conversation.digest ? '<button type="button" id="run-digest" class="btn">Run the digest now</button><small id="digest-result"></small>' : ""}`;
  $("#composer-input").placeholder = threadTarget ? "Reply…" : `Message ${im ? "" : "#"}${conversation.name}`;
  $("#thread-target").hidden = !threadTarget;

  const inPanel = new Set(state.assistant_threads.filter((t) => t.channel === current).map((t) => t.thread_ts));
  const items = (state.items[current] || []).filter((it) => !inPanel.has(it.ts) && !inPanel.has(it.thread_ts));
  const rootTs = new Set(items.filter((it) => !it.thread_ts || it.thread_ts === it.ts).map((it) => it.ts));
  const replies = {};
  const roots = [];
  for (const it of items) {
    if (it.thread_ts && it.thread_ts !== it.ts && rootTs.has(it.thread_ts)) {
      (replies[it.thread_ts] = replies[it.thread_ts] || []).push(it);
    } else {
      roots.push(it);
    }
  }
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  box.innerHTML = roots.length
    ? roots.map((root) => itemHtml(root, true) + (replies[root.ts]
      ? `<div class="thread" data-thread="${esc(root.ts)}">${replies[root.ts].map((r) => itemHtml(r, false)).join("")}</div>`
      : "")).join("")
    : `<div class="empty">Nothing here yet. ${im ? "Ask the bot something." : "Try “@bot where is the wiki?”."}</div>`;
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function itemHtml(it, isRoot, channel = current) {
  const fromApp = it.kind !== "message" || it.from_bot;
  const name = it.sender === "slackbot" ? "Slackbot" : fromApp ? state.bot.name : userName(it.user);
  const time = new Date(Number(it.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  let body;
  const where = { source: it.kind, ts: it.ts, chosen: it.chosen, channel };
  if (it.streamed) {
    body = markdown(it.text) + blocksHtml(it.blocks, where);
  } else if (it.blocks && it.blocks.length) {
    body = blocksHtml(it.blocks, where);
  } else {
    body = mrkdwn(it.text);
  }
  const hidden = it.kind !== "message" && it.response_type !== "in_channel";
  const metadata = it.metadata
    ? `<div class="metadata" title="message metadata">metadata ${esc(it.metadata.event_type)} ${esc(JSON.stringify(it.metadata.event_payload))}</div>`
    : "";
  const reply = isRoot && it.kind === "message" ? `<button type="button" class="reply-link" data-reply="${esc(it.ts)}">Reply in thread</button>` : "";
  const classes = ["msg", `kind-${it.kind}`, fromApp ? "from-bot" : "from-person", `sender-${it.sender || "user"}`];
  if (linked && linked.ts === it.ts && linked.channel === channel) classes.push("linked");
  return `<div class="${classes.join(" ")}" data-ts="${esc(it.ts)}" data-kind="${it.kind}" data-streamed="${Boolean(it.streamed)}">
    <div class="avatar">${esc(name[0].toUpperCase())}</div>
    <div>
      <div class="who">${esc(name)}${fromApp ? '<span class="app">APP</span>' : ""}<time>${time}</time></div>
      ${hidden ? '<div class="only-you">Only visible to you</div>' : ""}
      <div class="body${it.streaming ? " streaming-dot" : ""}">${body}</div>
      ${metadata}${it.kind === "message" ? reactionsHtml(it) : ""}${reply}
    </div>
  </div>`;
}

// Slack's assistant panel: one thread in the app's DM, opened beside the conversation.
function renderAssistant() {
  const panel = $("#assistant");
  const thread = state.assistant_threads.find((t) => t.thread_ts === assistantThread);
  $("#app").classList.toggle("assistant-open", Boolean(thread));
  panel.hidden = !thread;
  if (!thread) return;
  const viewing = state.conversations.find((c) => c.id === thread.viewing);
  $("#assistant-title").textContent = thread.title || "New chat";
  $("#assistant-context").textContent = viewing ? `viewing ${viewing.kind === "im" ? "" : "#"}${viewing.name}` : "";
  const items = (state.items[thread.channel] || []).filter((it) => it.thread_ts === thread.thread_ts && it.ts !== thread.thread_ts);
  const box = $("#assistant-messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  box.innerHTML = items.map((it) => itemHtml(it, false, thread.channel)).join("");
  if (atBottom) box.scrollTop = box.scrollHeight;
  const asked = items.some((it) => it.kind === "message" && !it.from_bot);
  const prompts = thread.prompts && !asked ? thread.prompts : null;
  $("#assistant-prompts").innerHTML = prompts
    ? `<div class="prompts-title">${esc(prompts.title || "Suggested prompts")}</div>${prompts.prompts
      .map((p, i) => `<button type="button" class="prompt" data-prompt="${i}">${esc(p.title)}</button>`).join("")}`
    : "";
  $("#assistant-status").textContent = thread.status ? `${state.bot.name} ${thread.status}` : "";
}

async function openAssistant() {
  const opened = await post("/sandbox/assistant/open", { viewing: current });
  if (opened.thread_ts) assistantThread = opened.thread_ts;
  if (state) render();
}

async function askAssistant(text) {
  const thread = state.assistant_threads.find((t) => t.thread_ts === assistantThread);
  if (thread && text.trim()) await post("/sandbox/message", { channel: thread.channel, text, thread_ts: thread.thread_ts });
}

function renderDeliveries() {
  $("#deliveries").innerHTML = state.deliveries.map((d) => {
    const pending = d.status === null && d.error === null;
    const outcome = pending ? "pending" : d.status === 200 ? "ok" : "bad";
    return `<li class="${outcome}" data-kind="${esc(d.kind)}" data-status="${d.status ?? ""}">
      <span class="status">${d.status ?? (pending ? "…" : "—")}</span><b>${esc(d.kind)}</b> ${esc(d.detail)}
      <span class="detail">${d.error ? esc(d.error) : pending ? "waiting for the app" : `${d.ms} ms${d.body ? ` · ${esc(d.body.slice(0, 160))}` : ""}`}</span>
    </li>`;
  }).join("");
}

function renderModal() {
  const backdrop = $("#modal-backdrop");
  const modal = state.modal;
  if (!modal) {
    backdrop.hidden = true;
    modalKey = null;
    return;
  }
  const view = modal.view;
  const key = `${modal.id}:${JSON.stringify([view.title, view.blocks, view.submit, view.close])}`;
  if (key !== modalKey) {
    modalKey = key;
    const hasInputs = (view.blocks || []).some((b) => b.type === "input");
    $("#modal").innerHTML = `<header><h1 id="modal-title">${textObject(view.title)}</h1>
        <button type="button" data-modal="close" aria-label="Close">×</button></header>
      <div class="field-error" id="modal-error"></div>
      <div class="modal-body">${blocksHtml(view.blocks, { source: "modal", ts: modal.id })}</div>
      <footer>
        <button type="button" class="btn" data-modal="close">${textObject(view.close) || "Cancel"}</button>
        ${view.submit || hasInputs ? `<button type="submit" class="btn primary" data-modal="submit">${textObject(view.submit) || "Submit"}</button>` : ""}
      </footer>`;
    backdrop.hidden = false;
  }
  for (const node of document.querySelectorAll("#modal [data-error-for]")) {
    node.textContent = modal.errors[node.dataset.errorFor] || "";
  }
  $("#modal-error").textContent = modal.errors[""] || "";
}

function modalValues() {
  const values = {};
  for (const block of document.querySelectorAll("#modal [data-input-index]")) {
    const type = block.dataset.type;
    let value = null;
    if (type === "radio_buttons") {
      const checked = block.querySelector("input:checked");
      value = checked ? checked.value : null;
    } else if (type === "checkboxes") {
      value = [...block.querySelectorAll("input:checked")].map((i) => i.value);
    } else if (type === "multi_static_select") {
      value = [...block.querySelector("select").selectedOptions].map((o) => o.value);
    } else {
      const control = block.querySelector("input, textarea, select");
      value = control ? control.value : null;
    }
    values[block.dataset.inputIndex] = value;
  }
  return values;
}

// -- vote highlights and reactions ---------------------------------------------------------

// Which feedback button of a block is selected: as the sandbox remembers it (it survives a
// reload, as in Slack), else as just clicked here.
function chosenFeedback(where, blockIndex) {
  const remembered = where.chosen && where.chosen[String(blockIndex)];
  return remembered || chosen[`${where.ts}:${blockIndex}`];
}

const REACTION_EMOJI = { "+1": "👍", "-1": "👎", thumbsup: "👍", thumbsdown: "👎" };
const QUICK_REACTIONS = ["+1", "-1"];

function emojiOf(name) {
  return REACTION_EMOJI[name] || `:${esc(name)}:`;
}

// The message's reactions (yours highlighted; a click toggles yours) and 👍/👎 to add one.
function reactionsHtml(it) {
  const me = state.me.id;
  const shown = (it.reactions || []).map((r) => {
    const mine = (r.users || []).includes(me);
    return `<button type="button" class="reaction${mine ? " mine" : ""}" data-react="${esc(r.name)}" data-ts="${esc(it.ts)}" aria-pressed="${mine}" title=":${esc(r.name)}:">${emojiOf(r.name)} ${r.count}</button>`;
  });
  const names = new Set((it.reactions || []).map((r) => r.name));
  const quick = QUICK_REACTIONS.filter((name) => !names.has(name)).map((name) =>
    `<button type="button" class="reaction add" data-react="${esc(name)}" data-ts="${esc(it.ts)}" title="React with :${esc(name)}:" aria-label="Add reaction :${esc(name)}:">+${emojiOf(name)}</button>`);
  return `<div class="reactions">${shown.concat(quick).join("")}</div>`;
}

document.addEventListener("click", async (event) => {
  const target = event.target.closest("[data-react]");
  if (target) {
    await post("/sandbox/reaction", { channel: current, ts: target.dataset.ts, emoji: target.dataset.react });
  }
});

// -- what you do --------------------------------------------------------------------------

async function act(node, extra) {
  if (node.dataset.choice) chosen[`${node.dataset.ts}:${node.dataset.block}`] = node.dataset.choice;
  const element = node.dataset.element === "accessory" ? "accessory" : Number(node.dataset.element);
  await post("/sandbox/action", {
    source: node.dataset.source, channel: node.dataset.channel || current, ts: node.dataset.ts,
    block: Number(node.dataset.block), element, ...extra,
  });
}

async function send() {
  const input = $("#composer-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  await post("/sandbox/message", { channel: current, text, thread_ts: threadTarget });
}

document.addEventListener("click", async (event) => {
  const target = event.target.closest("[data-act=click], [data-conversation], [data-assistant-thread], [data-reply], [data-modal], [data-prompt], #thread-cancel, #assistant-toggle, #assistant-close");
  if (!target) return;
  if (target.dataset.act === "click") {
    await act(target, { choice: target.dataset.choice });
  } else if (target.dataset.conversation) {
    const moved = current !== target.dataset.conversation;
    current = target.dataset.conversation;
    threadTarget = null;
    render();
    if (current === HOME) {
      await post("/sandbox/home/open", {});
      return;
    }
    if (moved && assistantThread) await post("/sandbox/assistant/context", { thread_ts: assistantThread, viewing: current });
  } else if (target.dataset.assistantThread) {
    assistantThread = target.dataset.assistantThread;
    render();
  } else if (target.id === "assistant-toggle") {
    await openAssistant();
  } else if (target.id === "assistant-close") {
    assistantThread = null;
    render();
  } else if (target.dataset.prompt !== undefined) {
    const thread = state.assistant_threads.find((t) => t.thread_ts === assistantThread);
    await askAssistant(thread.prompts.prompts[Number(target.dataset.prompt)].message);
  } else if (target.dataset.reply) {
    threadTarget = target.dataset.reply;
    renderConversation();
    $("#composer-input").focus();
  } else if (target.id === "thread-cancel") {
    threadTarget = null;
    renderConversation();
  } else if (target.dataset.modal === "close") {
    await post("/sandbox/view_close", { view_id: state.modal.id });
  }
});

document.addEventListener("change", async (event) => {
  const select = event.target.closest("[data-act=select]");
  if (select && select.value) await act(select, { selected: select.value });
});

$("#modal").addEventListener("submit", async (event) => {
  event.preventDefault();
  await post("/sandbox/view_submission", { view_id: state.modal.id, values: modalValues() });
});

$("#assistant-composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#assistant-input");
  const text = input.value;
  input.value = "";
  await askAssistant(text);
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("#run-digest");
  if (!button) return;
  button.disabled = true;
  $("#digest-result").textContent = "running python -m bot digest --now…";
  const result = await post("/sandbox/digest", {});
  const shown = $("#digest-result");  // the header may have been drawn again meanwhile
  if (shown) shown.textContent = result.output || result.error || "";
  const again = $("#run-digest");
  if (again) again.disabled = false;
});

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

$("#composer-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    send();
  }
});

linked = linkedMessage();
window.addEventListener("hashchange", () => {
  linked = linkedMessage();
  if (state) render();
});

const stream = new EventSource("/sandbox/stream");
stream.onmessage = (event) => {
  state = JSON.parse(event.data);
  render();
};
