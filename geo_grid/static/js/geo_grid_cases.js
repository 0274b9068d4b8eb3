/* geo-grid case pages (geo_grid/pages/): the intake form's live preview and filing, the case
 * page's action buttons and photo upload, and the small map both show.
 *
 * The page's data is one JSON island (<script type="application/json" id="gg-data">), written by
 * geo_grid/pages/cases.py; nothing else of the server's reaches this script but the JSON API's
 * answers. Every text taken from data is put into the page as text (textContent), never as HTML.
 * Writes carry X-Requested-With: geo-grid, without which the API refuses a write made with the
 * session cookie (api/auth.py: no CSRF). Everything a person reads is Chinese: an API error is
 * told by its status and field, its English message kept under 技术信息.
 */
(function (global) {
  "use strict";
  var doc = global.document;
  var island = doc.getElementById("gg-data");
  var data = island ? JSON.parse(island.textContent || "{}") : {};

  /* ------------------------------------------------------------------ shared helpers */
  /* geo_grid_map.js (every page loads it first): elements, status lines, the JSON API. */
  var gg = global.geoGrid, el = gg.el, fill = gg.fill, say = gg.say;

  /* ------------------------------------------------------------------ the JSON API */
  var FIELDS = {
    address_text: "事发地址", category_code: "问题类别", channel: "来源", description: "问题描述",
    reporter_name: "反映人", reporter_phone: "联系电话", file: "照片", phase: "照片阶段",
    note: "办理意见", rating: "回访评价", reason: "理由", duplicate_of: "重复案件",
    department: "部门", assignee_person_id: "承办人", data: "办理信息", action: "操作", version: "版本"
  };
  /* This page's words for a status (401, 429 and 503: geoGrid.apiError's, as on every page). */
  var STATUS_TEXT = {
    403: "您无权执行这项操作。",
    404: "没有找到这件案件，可能已被删除。",
    409: "案件已被他人办理或状态已变化，请刷新页面后再试。",
    413: "文件太大，超过了上传限制。"
  };

  /* An Error a person can read: what went wrong by status and field, the API's words in detail. */
  function failure(status, body) {
    return gg.apiError(status, body, function (s, err) {
      if (STATUS_TEXT[s]) return STATUS_TEXT[s];
      if (s !== 422 && s !== 400) return undefined;
      var field = err.field && FIELDS[err.field];
      return field ? "“" + field + "”填写有误，请检查后再试。" : "填写有误，请检查后再试。";
    });
  }

  function api(url, init) {
    return gg.requestJSON(url, init, failure);
  }

  function jsonBody(value) {
    return {body: JSON.stringify(value), headers: {"Content-Type": "application/json"}};
  }

  /* ------------------------------------------------------------------ the small map */
  function smallMap(node) {
    var map = L.map(node, {zoomControl: true, attributionControl: true, scrollWheelZoom: false});
    map.attributionControl.setPrefix("Leaflet");
    global.geoGrid.scale(map);
    if (data.tilesUrl) {
      global.geoGrid.vectorTiles(data.tilesUrl, {style: {color: "#8c959f", weight: 1, fill: false}})
        .addTo(map);
    }
    var shown = L.featureGroup().addTo(map);
    return {
      map: map,
      show: function (view) {
        shown.clearLayers();
        if (!view) return;
        if (view.grid) {
          L.geoJSON(view.grid, {style: {color: "#cf222e", weight: 3, fillColor: "#cf222e",
                                        fillOpacity: 0.08}}).addTo(shown);
        }
        if (view.point) {
          L.circleMarker(view.point, {radius: 7, color: "#fff", weight: 2, fillColor: "#0969da",
                                      fillOpacity: 1}).addTo(shown);
        }
        map.invalidateSize();
        var bounds = shown.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, {padding: [18, 18], maxZoom: 17});
      }
    };
  }

  /* ------------------------------------------------------------------ /cases/new */
  function intake() {
    var form = doc.getElementById("gg-intake");
    if (!form) return;
    var address = form.elements.address_text, category = form.elements.category_code;
    var match = doc.getElementById("gg-match"), gridBox = doc.getElementById("gg-grid");
    var duty = doc.getElementById("gg-duty"), dups = doc.getElementById("gg-dups");
    var mapNode = doc.getElementById("gg-map"), msg = doc.getElementById("gg-intake-msg");
    var submit = doc.getElementById("gg-submit");
    var seq = 0, timer = null, small = null, key = null;

    function newKey() {
      var rnd = global.crypto && global.crypto.getRandomValues ?
        Array.prototype.map.call(global.crypto.getRandomValues(new Uint32Array(4)),
                                 function (n) { return n.toString(16); }).join("") :
        String(Math.random()).slice(2);
      return "page-" + Date.now().toString(16) + "-" + rnd;
    }

    function clear(text) {
      match.className = "gg-muted";
      match.textContent = text;
      fill(gridBox, []); fill(duty, []); fill(dups, []);
      mapNode.hidden = true;
      form.dataset.preview = "";
    }

    function schedule() {
      key = null;  // another report now: another idempotency key
      global.clearTimeout(timer);
      timer = global.setTimeout(preview, 300);
    }

    function preview() {
      var text = address.value.trim();
      if (text.length < 2) {
        seq += 1;
        clear("输入地址后，这里显示匹配结果、所属网格和在岗人员。");
        return;
      }
      var mine = ++seq;
      var query = new URLSearchParams({address_text: text});
      if (category.value) query.set("category_code", category.value);
      match.className = "gg-muted";
      match.textContent = "正在匹配地址…";
      api(data.previewUrl + "?" + query.toString()).then(function (body) {
        if (mine === seq) render(body);
      }).catch(function (err) {
        if (mine !== seq) return;
        clear("");
        say(match, "无法匹配地址：" + err.message, "error", err.detail);
        if (err.status === undefined) throw err;  // a fault of this script: the console says so
      });
    }

    function render(p) {
      match.className = "gg-match gg-m-" + p.status;
      if (p.status === "matched") {
        fill(match, [el("b", {text: p.status_zh}), "：" + (p.matched_text || p.query),
          el("small", {text: "（" + (p.level || "") + "级，可信度 " + Math.round(p.confidence * 100) + "%）"}),
          p.reason_zh ? el("span", {className: "gg-note", text: p.reason_zh}) : null]);
      } else {
        var why = p.reason_zh ? "（" + p.reason_zh + "）" : "";
        fill(match, [el("b", {text: p.status_zh}), why,
          el("span", {className: "gg-note", text: "提交后案件进入待人工派遣队列，由调度员在地图上落点派遣。"})]);
        if (p.alternatives && p.alternatives.length) {
          match.appendChild(el("span", {className: "gg-note", text: "可能是："}));
          var list = el("ul", {className: "gg-alts"});
          p.alternatives.forEach(function (a) {
            var pick = el("button", {type: "button", className: "gg-link", text: a.text});
            pick.addEventListener("click", function () { address.value = a.text; schedule(); });
            list.appendChild(el("li", {}, [pick]));
          });
          match.appendChild(list);
        }
      }
      renderGrid(p);
      renderDuplicates(p);
      form.dataset.preview = p.status;
    }

    function renderGrid(p) {
      var g = p.grid;
      if (!g) {
        fill(gridBox, []); fill(duty, []);
        mapNode.hidden = true;
        return;
      }
      fill(gridBox, [el("h3", {text: "所属网格"}), el("p", {}, [
        el("b", {className: "gg-grid-name", text: g.name || g.code}), " ",
        el("span", {className: "gg-code", text: g.code}), el("br"),
        [g.street, g.community].filter(Boolean).join(" ")])]);
      var people = g.roster.map(function (r) {
        return el("li", {}, [el("span", {className: "gg-role", text: r.role_zh}), " " + r.name,
          r.phone ? el("small", {text: " " + r.phone}) : null]);
      });
      if (!people.length) people = [el("li", {className: "gg-muted", text: "该网格暂无在岗人员登记"})];
      fill(duty, [el("h3", {text: "在岗人员"}), el("ul", {className: "gg-duty"}, people)]);
      mapNode.hidden = false;
      if (!small) small = smallMap(mapNode);
      small.show({grid: g.geometry, point: p.lat !== null && p.lon !== null ? [p.lat, p.lon] : null});
    }

    function renderDuplicates(p) {
      if (p.status !== "matched") { fill(dups, []); return; }
      if (!category.value) {
        fill(dups, [el("p", {className: "gg-muted", text: "选择问题类别后，这里列出附近的同类案件。"})]);
        return;
      }
      if (!p.duplicates.length) {
        fill(dups, [el("p", {className: "gg-muted", text: "附近 50 米内 48 小时内没有同类案件。"})]);
        return;
      }
      var items = p.duplicates.map(function (d) {
        return el("li", {}, [el("a", {href: data.caseUrl.replace("{id}", d.id), text: d.number}),
          " ", el("span", {className: "gg-status gg-s-" + d.status, text: d.status_zh}),
          el("small", {text: " 相距约 " + Math.round(d.distance_m) + " 米 · 受理 " + d.received_zh}),
          el("span", {className: "gg-note", text: d.address_text || ""})]);
      });
      fill(dups, [el("h3", {className: "gg-warn", text: "附近可能重复的同类案件（" + items.length + "）"}),
        el("ul", {className: "gg-dup-list"}, items)]);
    }

    address.addEventListener("input", schedule);
    category.addEventListener("change", schedule);
    form.addEventListener("input", function () { key = null; });

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      var value = function (name) { var v = form.elements[name].value.trim(); return v || null; };
      var body = {category_code: category.value, channel: form.elements.channel.value,
        address_text: value("address_text"), description: value("description"),
        reporter_name: value("reporter_name"), reporter_phone: value("reporter_phone")};
      key = key || newKey();
      submit.disabled = true;
      say(msg, "正在提交…");
      var init = jsonBody(body);
      init.method = "POST";
      init.headers["Idempotency-Key"] = key;
      api(data.createUrl, init).then(function (c) {
        say(msg, "已受理，案件编号 " + c.number + "，正在打开案件页…", "ok");
        global.location.assign(data.caseUrl.replace("{id}", c.id));
      }).catch(function (err) {
        submit.disabled = false;
        say(msg, "提交没有成功：" + err.message, "error", err.detail);
      });
    });
  }

  /* ------------------------------------------------------------------ /cases/{id} */
  function actionData(form) {
    var f = form.elements, out = {};
    var action = form.dataset.action;
    if (action === "reject") {
      out.reason = f.reason.value;
      if (f.duplicate_of.value.trim()) out.duplicate_of = Number(f.duplicate_of.value.trim());
    } else if (action === "rate") {
      out.rating = Number(f.rating.value);
    } else if (action === "reassign" || action === "dispatch") {
      var who = f.assignee_person_id;
      if (who && who.value) {
        out.assignee_person_id = who.value;
        out.assignee_name = who.options[who.selectedIndex].dataset.name;
      }
      if (f.department && f.department.value.trim()) out.department = f.department.value.trim();
    }
    return out;
  }

  function casePage() {
    var box = doc.getElementById("gg-actions");
    if (!box || !data.case) return;
    var msg = doc.getElementById("gg-action-msg");
    var note = doc.getElementById("gg-note");
    var busy = false;

    function run(label, request) {
      if (busy) return;
      busy = true;
      box.classList.add("gg-busy");
      say(msg, "正在" + label + "…");
      request().then(function () {
        say(msg, label + "已完成，正在刷新…", "ok");
        global.location.reload();
      }).catch(function (err) {
        busy = false;
        box.classList.remove("gg-busy");
        say(msg, label + "没有成功：" + err.message, "error", err.detail);
      });
    }

    box.querySelectorAll("form.gg-action").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var action = form.dataset.action;
        var label = form.querySelector("button").textContent;
        var text = note && note.value.trim() ? note.value.trim() : null;
        run(label, function () {
          if (action === "whistle") {
            var w = jsonBody({note: text, version: data.case.version});
            w.method = "POST";
            return api(data.whistleUrl, w);
          }
          var t = jsonBody({action: action, version: data.case.version, note: text,
                            data: actionData(form)});
          t.method = "POST";
          return api(data.transitionUrl, t);
        });
      });
    });

    var photo = doc.getElementById("gg-photo");
    if (photo) {
      photo.elements.file.addEventListener("change", function () {
        var file = photo.elements.file.files[0];
        doc.getElementById("gg-file-name").textContent = file ?
          file.name + "（" + Math.max(1, Math.round(file.size / 1024)) + " KB）" : "未选择照片";
      });
      photo.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var file = photo.elements.file.files[0];
        if (!file) { say(msg, "请先选择或拍摄一张照片。", "error"); return; }
        if (file.size > data.photoMaxBytes) {
          say(msg, "照片太大：不能超过 " + Math.floor(data.photoMaxBytes / 1048576) + " MB。", "error");
          return;
        }
        if (["image/jpeg", "image/png", "image/webp"].indexOf(file.type) < 0) {
          say(msg, "只能上传 JPEG、PNG 或 WebP 格式的照片。", "error");
          return;
        }
        var form = new FormData();
        form.append("phase", photo.elements.phase.value);
        form.append("file", file, file.name);
        run("上传照片", function () { return api(data.photoUrl, {method: "POST", body: form}); });
      });
    }

    var mapNode = doc.getElementById("gg-map");
    if (mapNode && data.map) smallMap(mapNode).show(data.map);
  }

  /* ------------------------------------------------------------------ /cases: 导出表格 */
  /* The list's cases as a spreadsheet: a job (geo_grid_jobs.js, loaded before this script on the
   * list only) with its progress beside the button, then the workbook downloaded. */
  function sheetExport() {
    var button = doc.querySelector(".gg-sheet-link[data-url]");
    if (!button || !global.geoGridJobs) return;
    global.geoGridJobs.fileButton(button, doc.getElementById("gg-sheet-msg"), button.dataset.url, {
      403: "您无权导出这些案件。",
      422: "所选案件太多或条件有误：请缩短受理日期范围或减少类别后再试（单次导出有上限）。"
    });
  }

  intake();
  casePage();
  sheetExport();
})(window);
