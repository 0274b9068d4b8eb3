/* geo-grid planner's workspace (/plans/{id}, geo_grid/pages/plans.py): the plan's grids coloured
 * by households against the district's band, and the tools that edit the plan through its API.
 *
 * The page's data is one JSON island (#gg-data): the plan, its API base (data.api =
 * /api/v1/plans/{id}), whether the caller may edit, the band, the time zone and every Chinese
 * label shown. The grids come from GET {api}/grids (GeoJSON: households, low/high/status,
 * on_duty, change); after an edit only the grids it touched are fetched again and swapped in
 * place, so the view stays where the planner left it (no re-fit, no reload).
 *
 * Tools: 分割 (draw a line: POST {api}/split), 改边界 (draw an outline: {api}/reshape), 合并 (pick
 * grids: {api}/merge), 移楼栋 (pick a grid, its buildings, then the grid they go to:
 * {api}/move-buildings), 撤销 ({api}/undo). Every edit is sent with ?dry_run=true first: its
 * pieces are drawn with their households against the band (Districtr's live balance), and only
 * 接受 sends it for real. Grids nobody would be on duty in are outlined and listed with a roster
 * form ({api}/roster/{code}); 检查方案, 查看差异 and 发布方案 (confirmed in a dialog, never a
 * browser prompt) close the loop. Text from data or answers goes into the page as text only.
 * Writes carry X-Requested-With: geo-grid (the API's CSRF guard for the session cookie).
 */
(function (global) {
  "use strict";
  var doc = global.document;
  var island = doc.getElementById("gg-data");
  var data = island ? JSON.parse(island.textContent || "{}") : {};
  var mapNode = doc.getElementById("gg-plan-map");
  if (!mapNode || !data.api) return;
  var L = global.L;
  var labels = data.labels || {};
  var BAND_COLOURS = {under: "#64b5f6", "in": "#81c784", over: "#e57373"};

  /* ------------------------------------------------------------------ DOM helpers */
  /* geo_grid_map.js (loaded first): elements, status lines, the JSON API, point in polygon. */
  var gg = global.geoGrid, el = gg.el, fill = gg.fill, say = gg.say, pointIn = gg.pointIn;

  function button(text, onClick, className) {
    var b = el("button", {type: "button", className: className || "gg-btn", text: text});
    b.addEventListener("click", onClick);
    return b;
  }

  function $(id) { return doc.getElementById(id); }

  function lab(table, key) {
    var t = labels[table] || {};
    return t[key] !== undefined ? t[key] : (key === null || key === undefined ? "" : String(key));
  }

  /* ------------------------------------------------------------------ the JSON API */
  var FIELD_TEXT = {
    line: "分割线要从网格的一条边画到另一条边，把网格完整切开。",
    geometry: "新边界会在网格之间留下缝隙或重叠，或超出社区边界，请重画。",
    grids: "合并的网格必须相邻，并且属于同一个社区。",
    keep: "保留的编码必须是所合并网格之一。",
    buildings: "所选楼栋不在这个网格里。",
    to: "楼栋只能并入相邻的网格。",
    grid: "没有找到这个网格，或它不在您负责的区域内。",
    code: "网格编码已被使用或格式不对。",
    role: "所选职务不能安排在岗。",
    person_id: "所选人员不在本区的名册中。",
    entries: "在岗人员填写有误。",
    name: "新增人员要填写姓名（最多 32 个字）。",
    phone: "新增人员的电话号码格式不对（只能有数字、+、- 和空格）。",
    new_people: "新增人员填写有误。"
  };
  /* The text of a field the API names: by the field itself, or by its last part
   * ("new_people.0.phone" is a phone). */
  function fieldText(field) {
    if (!field) return undefined;
    return FIELD_TEXT[field] || FIELD_TEXT[String(field).split(".").pop()];
  }
  /* This page's words for a status (401, 429 and 503: geoGrid.apiError's, as on every page). */
  var STATUS_TEXT = {
    403: "您无权修改这个区域的网格。",
    404: "没有找到方案或网格，可能已被删除。",
    413: "提交的内容太大。"
  };

  /* An Error a person can read: what went wrong (by status and field), the API's words kept. */
  function failure(status, body) {
    return gg.apiError(status, body, function (s, err) {
      var message = err.message || "";
      if (s === 409 && /no edit left to undo/.test(message)) return "没有可以撤销的编辑了。";
      if (s === 409 && /cannot be undone/.test(message)) return "这一步编辑没有保存改前的网格，不能撤销。";
      if (s === 409 && err.field === "plan") return "方案已发布或已被他人修改，请刷新页面后再试。";
      if (s === 409) return fieldText(err.field) || "与现有网格冲突，请检查后再试。";
      if (s === 400 || s === 422) {
        return fieldText(err.field) || (/not clean/.test(message) ? "方案检查未通过，不能发布。" : "提交的内容有误，请检查后再试。");
      }
      return STATUS_TEXT[s];
    });
  }

  /* The plan's API (``path`` under data.api); ``init.body`` is sent as JSON. */
  function api(path, init) {
    init = init || {};
    var json = init.body === undefined ? {} : {body: JSON.stringify(init.body), headers: {"Content-Type": "application/json"}};
    return gg.requestJSON(data.api + path, {method: init.method, body: json.body, headers: json.headers}, failure);
  }

  function sayError(node, prefix, err) {
    say(node, prefix + err.message, "error", err.detail);
    if (err.status === undefined) global.setTimeout(function () { throw err; });  // our own bug: the console says so
  }

  /* ------------------------------------------------------------------ times */
  function fmtTime(iso) {
    if (!iso) return "";
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {timeZone: data.timeZone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"})
      .formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + ":" + parts.second;
  }

  function actor(author) {
    if (!author) return "系统";
    var i = author.indexOf(":");
    return i < 0 ? author : author.slice(i + 1);
  }

  /* ------------------------------------------------------------------ the map */
  var map = L.map(mapNode, {zoomSnap: 0.25, preferCanvas: true, maxZoom: 19});
  map.attributionControl.setPrefix("Leaflet");
  global.geoGrid.scale(map);
  var renderer = L.canvas({tolerance: 2});
  var state = {byCode: {}, tool: null, picked: [], movePicked: [], moveFrom: null, moveTo: null,
               drawing: false, draw: null, pending: null, buildings: null, selected: null,
               editable: !!data.editable, before: null, hidden: {}};

  function bandText(p) {
    if (p.households === null || p.households === undefined) return "户数不详";
    return p.households + " 户（" + lab("band", p.status) + "，目标 " + p.low + "–" + p.high + "）";
  }

  function styleOf(feature) {
    var p = feature.properties;
    var s = {color: "#546e7a", weight: 0.8, opacity: 0.9,
             fillColor: BAND_COLOURS[p.status] || "#cfd8dc", fillOpacity: 0.45};
    if (p.change) { s.color = "#263238"; s.weight = 2.2; }
    if (p.on_duty === 0) { s.color = "#6a1b9a"; s.weight = 3; s.dashArray = "6 4"; }
    if (state.picked.indexOf(p.code) >= 0 || state.selected === p.code) { s.color = "#ff6f00"; s.weight = 4; s.dashArray = null; }
    if (state.moveTo === p.code) { s.color = "#2e7d32"; s.weight = 4; s.dashArray = null; }
    if (state.hidden[p.code]) { s.fillOpacity = 0.04; s.opacity = 0.3; }
    return s;
  }

  var gridLayer = L.geoJSON(null, {
    renderer: renderer,
    style: styleOf,
    onEachFeature: function (f, layer) {
      var p = f.properties;
      layer.bindTooltip(function () {
        var q = layer.feature.properties;
        return global.geoGrid.esc((q.name || q.code) + "：" + bandText(q));
      }, {sticky: true, className: "gg-tooltip"});
      layer.on("click", function (ev) {
        L.DomEvent.stopPropagation(ev);
        onGridClick(layer.feature.properties.code, ev.latlng);
      });
      state.byCode[p.code] = layer;
    }
  }).addTo(map);
  var labelGroup = L.featureGroup([gridLayer]).addTo(map);
  labelGroup.geo = gridLayer;
  global.geoGrid.zoomLabels(map, labelGroup, "_label", 15);

  function label(p) {
    if (state.hidden[p.code]) return "";
    return (p.households === null || p.households === undefined ? "" : p.households + "户") + (p.on_duty === 0 ? " ⚠" : "");
  }

  /* Grids an edit being previewed replaces, drawn faint with no figure (its pieces show theirs). */
  function hide(codes) {
    state.hidden = {};
    codes.forEach(function (c) { state.hidden[c] = true; });
    Object.keys(state.byCode).forEach(function (c) { state.byCode[c].feature.properties._label = label(state.byCode[c].feature.properties); });
    restyle();
    map.fire("moveend");
  }

  function setFeature(feature) {
    var p = feature.properties;
    p._label = label(p);
    var old = state.byCode[p.code];
    if (old) gridLayer.removeLayer(old);
    delete state.byCode[p.code];
    gridLayer.addData(feature);
  }

  function removeCodes(codes) {
    codes.forEach(function (code) {
      var old = state.byCode[code];
      if (old) gridLayer.removeLayer(old);
      delete state.byCode[code];
    });
  }

  function restyle() { gridLayer.setStyle(styleOf); }

  function features() {
    return Object.keys(state.byCode).map(function (c) { return state.byCode[c].feature; });
  }

  function load() {
    return api("/grids").then(function (fc) {
      fc.features.forEach(setFeature);
      var changed = L.featureGroup(Object.keys(state.byCode).filter(function (c) {
        return state.byCode[c].feature.properties.change;
      }).map(function (c) { return state.byCode[c]; }));
      var bounds = changed.getLayers().length ? changed.getBounds() : gridLayer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 16, animate: false});
      summarise();
      mapNode.dataset.loaded = String(fc.features.length);
    }).catch(function (err) { sayError($("gg-balance-text"), "网格载入失败：", err); });
  }

  /* The grids an edit touched, fetched again and swapped in place (the view is left alone). */
  function refresh(codes, removed) {
    removeCodes(removed || []);
    var wanted = (codes || []).filter(function (c, i, a) { return a.indexOf(c) === i; });
    if (!wanted.length) { summarise(); return Promise.resolve(); }
    return api("/grids?codes=" + encodeURIComponent(wanted.join(","))).then(function (fc) {
      removeCodes(wanted);
      fc.features.forEach(setFeature);
      map.fire("moveend");  // the zoom labels of the new grids
      summarise();
    });
  }

  /* ------------------------------------------------------------------ balance and staffing */
  function summarise() {
    var n = {under: 0, "in": 0, over: 0}, total = 0, empty = [];
    features().forEach(function (f) {
      var p = f.properties;
      total += 1;
      if (n[p.status] !== undefined) n[p.status] += 1;
      if (p.on_duty === 0) empty.push(p);
    });
    var bar = $("gg-bar");
    ["under", "in", "over"].forEach(function (k) {
      bar.querySelector(".gg-b-" + k).style.width = (total ? 100 * n[k] / total : 0) + "%";
    });
    var count = function (k, text) {
      var b = button(text + " " + n[k], function () { bandList(k); }, "gg-link gg-t-" + k);
      b.dataset.status = k;
      return b;
    };
    fill($("gg-balance-text"), ["共 " + total + " 个网格：", count("in", "适中"), "，", count("under", "偏少"), "，",
      count("over", "偏多")]);
    $("gg-balance").dataset.counts = JSON.stringify(n);
    if (state.bandShown) bandList(state.bandShown, true);
    staffList(empty);
  }

  /* The grids of one band status, fullest first, each a link to it (as Districtr lists districts). */
  function bandList(status, keep) {
    var box = $("gg-band-list");
    if (state.bandShown === status && !keep) { state.bandShown = null; box.hidden = true; return; }
    state.bandShown = status;
    var rows = features().map(function (f) { return f.properties; }).filter(function (p) { return p.status === status; });
    rows.sort(function (a, b) { return status === "under" ? a.households - b.households : b.households - a.households; });
    var items = rows.slice(0, 50).map(function (p) {
      var li = el("li", {"data-code": p.code}, [el("b", {text: p.households + " 户"}), " " + (p.name || p.code), " ",
        el("span", {className: "gg-code", text: p.code})]);
      li.appendChild(button("定位", function () { focus(p.code); }, "gg-link"));
      return li;
    });
    fill(box, [el("h3", {text: lab("band", status) + "的网格（" + rows.length + "）"}),
      items.length ? el("ul", {className: "gg-band-items"}, items) : el("p", {className: "gg-muted", text: "没有。"})]);
    box.hidden = false;
  }

  function staffList(empty) {
    var box = $("gg-staff");
    box.hidden = !empty.length;
    $("gg-staff-count").textContent = String(empty.length);
    fill($("gg-staff-list"), empty.map(function (p) {
      var li = el("li", {"data-code": p.code}, [el("b", {text: p.name || p.code}), " ",
        el("span", {className: "gg-code", text: p.code}), p.change === "added" ? el("span", {className: "gg-tag", text: "新增"}) : null]);
      var go = button("定位", function () { focus(p.code); }, "gg-link");
      li.appendChild(go);
      if (state.editable) li.appendChild(button("填写人员", function () { openRoster(p.code); }, "gg-btn gg-btn-small"));
      return li;
    }));
  }

  function focus(code) {
    var layer = state.byCode[code];
    if (!layer) return;
    map.fitBounds(layer.getBounds(), {padding: [40, 40], maxZoom: 17});
    showPicked(code);
  }

  /* ------------------------------------------------------------------ a grid's details */
  function showPicked(code) {
    var layer = state.byCode[code], box = $("gg-picked");
    if (!layer) { box.hidden = true; return; }
    state.selected = code;
    restyle();
    var p = layer.feature.properties;
    var rows = [["编码", p.code], ["社区", p.community], ["街道", p.street], ["户数", bandText(p)],
      ["在岗人员", p.on_duty === 0 ? "无（发布前请填写）" : p.on_duty + " 人"],
      ["本方案", p.change ? lab("change", p.change) : "未改动"]];
    var table = el("table", {className: "gg-facts"}, rows.filter(function (r) { return r[1]; }).map(function (r) {
      return el("tr", {}, [el("th", {text: r[0]}), el("td", {text: String(r[1])})]);
    }));
    var actions = el("div", {className: "gg-buttons"});
    if (state.editable) actions.appendChild(button("在岗人员", function () { openRoster(code); }, "gg-btn gg-btn-quiet"));
    if (p.change !== "added") {
      actions.appendChild(el("a", {className: "gg-btn gg-btn-quiet", href: data.gridPage.replace("{code}", encodeURIComponent(code)),
        text: "现网格页面"}));
    }
    fill(box, [el("h2", {text: p.name || p.code}), table, actions]);
    box.hidden = false;
  }

  /* ------------------------------------------------------------------ roster form */
  function openRoster(code) {
    var box = $("gg-roster");
    box.hidden = false;
    fill(box, [el("h2", {text: "在岗人员"}), el("p", {className: "gg-muted", text: "载入中…"})]);
    api("/roster/" + encodeURIComponent(code)).then(function (form) { rosterForm(box, form); })
      .catch(function (err) { sayError(box.querySelector("p"), "载入失败：", err); });
    box.scrollIntoView({block: "nearest"});
  }

  /* The people the form will save for the grid: the plan's, or (a grid a merge or recode carries
   * people to, not chosen yet) those carried, which the planner may then take off. */
  function rosterDraft(form) {
    var from = form.chosen || !form.carried.length ? form.planned : form.carried.concat(form.planned);
    var seen = {};
    return from.filter(function (p) {
      var key = p.person_id + "|" + p.role;
      if (seen[key]) return false;
      seen[key] = true;
      return true;
    }).map(function (p) { return {person_id: p.person_id, name: p.name, role: p.role, from: p.grid_code || null}; });
  }

  function roleName(form, key) {
    var hit = form.roles.filter(function (r) { return r.key === key; })[0];
    return hit ? hit.name : lab("role", key);
  }

  function rosterForm(box, form) {
    var planned = rosterDraft(form);
    var listNode = el("ul", {className: "gg-duty"});
    var msg = el("p", {className: "gg-msg", role: "status"});
    function draw() {
      var items = form.stored.map(function (p) {
        return el("li", {}, [el("span", {className: "gg-role", text: roleName(form, p.role)}), " " + p.name, el("small", {text: "（现有名册）"})]);
      });
      planned.forEach(function (p, i) {
        var note = p.isNew ? "（新增人员，保存后建档）" : p.from ? "（随合并或改码从 " + p.from + " 转入）" : "（本方案新增）";
        var li = el("li", {className: "gg-planned" + (p.isNew ? " gg-new-person" : "")},
          [el("span", {className: "gg-role", text: roleName(form, p.role)}), " " + p.name, el("small", {text: note})]);
        if (state.editable) li.appendChild(button("移除", function () { planned.splice(i, 1); draw(); }, "gg-link"));
        items.push(li);
      });
      if (!items.length) items = [el("li", {className: "gg-muted", text: "暂无在岗人员"})];
      fill(listNode, items);
    }
    draw();
    var children = [el("h2", {text: "在岗人员：" + (form.name || form.grid)}), el("p", {className: "gg-code", text: form.grid}), listNode];
    if (form.carried.length && !form.chosen) {
      children.push(el("p", {className: "gg-muted", text: "合并或改码转入的人员发布时随网格转入；移除不需要的人员后保存，即按所选人员发布。"}));
    }
    if (state.editable) {
      function roleSelect(name) {
        var select = el("select", {name: name, "aria-label": "职务"}, form.roles.map(function (r) {
          return el("option", {value: r.key, text: r.name});
        }));
        if (form.roles.some(function (r) { return r.key === "grid_worker"; })) select.value = "grid_worker";
        return select;
      }
      function has(personId, roleKey) {
        return planned.some(function (p) { return p.person_id === personId && p.role === roleKey; });
      }
      var who = el("select", {name: "person", "aria-label": "人员"}, form.candidates.map(function (c) {
        return el("option", {value: c.person_id, text: c.name + "（" + roleName(form, c.role) + " · " + c.grid_code + "）"});
      }));
      var role = roleSelect("role");
      var add = button("添加", function () {
        var c = form.candidates.filter(function (x) { return x.person_id === who.value; })[0];
        if (!c) return;
        if (!has(c.person_id, role.value)) planned.push({person_id: c.person_id, name: c.name, role: role.value});
        draw();
      }, "gg-btn gg-btn-quiet");
      var newName = el("input", {name: "new_name", type: "text", maxlength: "32", autocomplete: "off", "aria-label": "姓名"});
      var newPhone = el("input", {name: "new_phone", type: "tel", maxlength: "32", autocomplete: "off", "aria-label": "电话"});
      var newRole = roleSelect("new_role");
      var addNew = button("添加新人员", function () {
        var name = newName.value.replace(/\s+/g, " ").trim(), phone = newPhone.value.trim();
        if (!name) { say(msg, FIELD_TEXT.name, "error"); newName.focus(); return; }
        if (!/^\+?[0-9][0-9\- ]{4,30}$/.test(phone)) { say(msg, FIELD_TEXT.phone, "error"); newPhone.focus(); return; }
        var dup = planned.some(function (p) { return p.isNew && p.name === name && p.phone === phone && p.role === newRole.value; });
        if (!dup) planned.push({isNew: true, person_id: null, name: name, phone: phone, role: newRole.value});
        newName.value = ""; newPhone.value = "";
        say(msg, "");
        draw();
      }, "gg-btn gg-btn-quiet");
      addNew.id = "gg-roster-add-new";
      var save = button("保存在岗人员", function () {
        save.disabled = true;
        say(msg, "保存中…");
        var body = {
          entries: planned.filter(function (p) { return !p.isNew; }).map(function (p) { return {person_id: p.person_id, role: p.role}; }),
          new_people: planned.filter(function (p) { return p.isNew; }).map(function (p) { return {name: p.name, phone: p.phone, role: p.role}; })
        };
        api("/roster/" + encodeURIComponent(form.grid), {method: "PUT", body: body}).then(function (now) {
          form = now;
          planned = rosterDraft(now);
          draw();
          say(msg, "已保存：发布后 " + now.on_duty + " 人在岗。", "ok");
          return refresh([form.grid]);
        }).then(function () { if (state.selected === form.grid) showPicked(form.grid); })
          .catch(function (err) { sayError(msg, "保存没有成功：", err); })
          .then(function () { save.disabled = false; });
      }, "gg-btn");
      save.id = "gg-roster-save";
      if (!form.candidates.length) children.push(el("p", {className: "gg-muted", text: "本社区的网格没有可选的在岗人员。"}));
      else children.push(el("div", {className: "gg-roster-add"}, [el("label", {}, ["人员", who]), el("label", {}, ["职务", role]), add]));
      children.push(el("p", {className: "gg-muted", text: "人员从转入人员和本社区各网格的在岗人员中选择；方案发布时一并写入名册。"}));
      children.push(el("fieldset", {className: "gg-roster-new"}, [el("legend", {text: "名册中没有的人员"}),
        el("label", {}, ["姓名", newName]), el("label", {}, ["电话", newPhone]), el("label", {}, ["职务", newRole]), addNew,
        el("p", {className: "gg-muted", text: "新增人员在保存时建档（电话不在页面上显示）。"})]));
      children.push(el("div", {className: "gg-buttons"}, [save, button("关闭", function () { box.hidden = true; }, "gg-btn gg-btn-quiet")]));
    }
    children.push(msg);
    fill(box, children);
    box.dataset.grid = form.grid;
  }

  /* ------------------------------------------------------------------ tools */
  var toolMsg = $("gg-tool-msg"), previewBox = $("gg-preview");
  var HINT = {
    split: "在地图上画一条线穿过要分割的网格（单击加点，最后一点再单击一次结束）。",
    reshape: "画出网格的新边界（单击加点，回到起点结束）；相邻网格让出或接收差额。",
    merge: "依次点击要合并的相邻网格（同一社区），再点“预览合并”。",
    move: "先点击楼栋所在的网格，再点选要移动的楼栋，最后点“选择目标网格”。"
  };

  /* The grid most of ``points`` lie in, among those none of ``outside`` lies in (a split line's
   * ends are outside the grid it cuts; without such a grid, any). */
  function gridUnder(points, outside) {
    var votes = {}, ends = {}, best = null, fallback = null;
    features().forEach(function (f) {
      var code = f.properties.code;
      points.forEach(function (ll) { if (pointIn(ll.lng, ll.lat, f.geometry)) votes[code] = (votes[code] || 0) + 1; });
      (outside || []).forEach(function (ll) { if (votes[code] && pointIn(ll.lng, ll.lat, f.geometry)) ends[code] = true; });
    });
    Object.keys(votes).forEach(function (c) {
      if (fallback === null || votes[c] > votes[fallback]) fallback = c;
      if (!ends[c] && (best === null || votes[c] > votes[best])) best = c;
    });
    return best || fallback;
  }

  function along(latlngs, n) {
    var out = [];
    for (var i = 0; i + 1 < latlngs.length; i++) {
      for (var k = 1; k <= n; k++) {
        var t = k / (n + 1), a = latlngs[i], b = latlngs[i + 1];
        out.push(L.latLng(a.lat + (b.lat - a.lat) * t, a.lng + (b.lng - a.lng) * t));
      }
    }
    return out;
  }

  function setTool(tool) {
    clearPreview();
    if (state.draw) { state.draw.disable(); state.draw = null; }
    state.picked = []; state.movePicked = []; state.moveFrom = null; state.moveTo = null;
    clearBuildings();
    state.tool = state.tool === tool ? null : tool;
    doc.querySelectorAll(".gg-tool[data-tool]").forEach(function (b) {
      b.classList.toggle("gg-on", b.dataset.tool === state.tool);
      b.setAttribute("aria-pressed", b.dataset.tool === state.tool ? "true" : "false");
    });
    restyle();
    if (!state.tool) { say(toolMsg, "选择一个工具开始编辑；点击网格查看详情。"); return; }
    say(toolMsg, HINT[state.tool]);
    var shape = {color: "#d50000", weight: 3};
    if (state.tool === "split") state.draw = new L.Draw.Polyline(map, {shapeOptions: shape});
    if (state.tool === "reshape") state.draw = new L.Draw.Polygon(map, {allowIntersection: false, shapeOptions: shape});
    if (state.draw) state.draw.enable();
    if (state.tool === "merge") mergePanel();
  }

  /* The current tool from its start again (what it had picked or drawn dropped). */
  function restartTool() {
    var tool = state.tool;
    state.tool = null;
    setTool(tool);
  }

  map.on("draw:drawstart", function () { state.drawing = true; });
  map.on("draw:drawstop", function () {
    global.setTimeout(function () { state.drawing = false; }, 0);
    if (state.draw && (state.tool === "split" || state.tool === "reshape") && !state.pending) {
      global.setTimeout(function () { if (state.draw && !state.pending) state.draw.enable(); }, 0);
    }
  });
  map.on(L.Draw.Event.CREATED, function (ev) {
    var geometry = ev.layer.toGeoJSON().geometry;
    if (state.tool === "split") {
      var points = ev.layer.getLatLngs();
      var grid = gridUnder(along(points, 9), [points[0], points[points.length - 1]]);
      if (!grid) { say(toolMsg, "所画的线没有穿过任何网格，请重画。", "error"); return; }
      preview("/split", {grid: grid, line: geometry}, "分割网格 " + grid, ev.layer);
    } else if (state.tool === "reshape") {
      var ring = ev.layer.getLatLngs()[0];
      var inner = gridUnder([ev.layer.getBounds().getCenter()].concat(ring), []);
      if (!inner) { say(toolMsg, "所画的边界不在任何网格上，请重画。", "error"); return; }
      preview("/reshape", {grid: inner, geometry: geometry}, "调整网格 " + inner + " 的边界", ev.layer);
    }
  });

  function onGridClick(code, latlng) {
    if (state.drawing) return;
    if (state.tool === "merge") {
      var i = state.picked.indexOf(code);
      if (i >= 0) state.picked.splice(i, 1); else state.picked.push(code);
      restyle();
      mergePanel();
      return;
    }
    if (state.tool === "move") {
      if (!state.moveFrom) { pickMoveFrom(code); return; }
      if (state.moveFrom && state.choosingTarget && code !== state.moveFrom) {
        state.moveTo = code;
        restyle();
        preview("/move-buildings", {buildings: state.movePicked.slice(), to: code},
          "把 " + state.movePicked.length + " 栋楼从 " + state.moveFrom + " 移入 " + code);
        return;
      }
    }
    showPicked(code);
  }

  function mergePanel() {
    previewBox.hidden = false;
    var go = button("预览合并", function () {
      preview("/merge", {grids: state.picked.slice()}, "合并 " + state.picked.join("、"));
    });
    go.disabled = state.picked.length < 2;
    fill(previewBox, [el("p", {text: state.picked.length ? "已选 " + state.picked.length + " 个网格：" + state.picked.join("、") : "还没有选网格。"}),
      el("div", {className: "gg-buttons"}, [go])]);
  }

  /* ------------------------------------------------------------------ move buildings */
  function clearBuildings() {
    if (state.buildings) map.removeLayer(state.buildings);
    state.buildings = null;
    state.choosingTarget = false;
  }

  function pickMoveFrom(code) {
    state.moveFrom = code;
    state.selected = code;
    restyle();
    say(toolMsg, "正在载入网格 " + code + " 的楼栋…");
    api("/grids/" + encodeURIComponent(code) + "/buildings").then(function (fc) {
      clearBuildings();
      state.buildings = L.geoJSON(fc, {
        renderer: renderer,
        style: function (f) {
          var on = state.movePicked.indexOf(f.properties.code) >= 0;
          return {color: on ? "#e65100" : "#5d4037", weight: on ? 2.5 : 1,
                  fillColor: on ? "#ffb74d" : "#bcaaa4", fillOpacity: 0.85};
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(global.geoGrid.esc((f.properties.households || 0) + " 户 · " + f.properties.code), {className: "gg-tooltip"});
          layer.on("click", function (ev) {
            L.DomEvent.stopPropagation(ev);
            if (state.choosingTarget) return;
            var i = state.movePicked.indexOf(f.properties.code);
            if (i >= 0) state.movePicked.splice(i, 1); else state.movePicked.push(f.properties.code);
            state.buildings.setStyle(state.buildings.options.style);
            movePanel();
          });
        }
      }).addTo(map);
      map.fitBounds(state.byCode[code].getBounds(), {padding: [30, 30], maxZoom: 18});
      say(toolMsg, "网格 " + code + " 有 " + fc.features.length + " 栋楼：点选要移动的楼栋。");
      movePanel();
    }).catch(function (err) { sayError(toolMsg, "楼栋载入失败：", err); });
  }

  function movePanel() {
    previewBox.hidden = false;
    var hh = 0;
    if (state.buildings) {
      state.buildings.eachLayer(function (l) {
        if (state.movePicked.indexOf(l.feature.properties.code) >= 0) hh += l.feature.properties.households || 0;
      });
    }
    var target = button("选择目标网格", function () {
      state.choosingTarget = true;
      say(toolMsg, "点击要并入的相邻网格。");
    });
    target.disabled = !state.movePicked.length;
    fill(previewBox, [el("p", {text: "已选 " + state.movePicked.length + " 栋楼，共 " + hh + " 户。"}),
      el("div", {className: "gg-buttons"}, [target, button("重选网格", restartTool, "gg-btn gg-btn-quiet")])]);
  }

  /* ------------------------------------------------------------------ preview and accept */
  function clearPreview() {
    if (Object.keys(state.hidden).length) hide([]);
    if (state.pending && state.pending.layer) map.removeLayer(state.pending.layer);
    if (state.pending && state.pending.drawn) map.removeLayer(state.pending.drawn);
    state.pending = null;
    if (previewBox) { previewBox.hidden = true; fill(previewBox, []); }
  }

  function moved(impact) {
    var m = (impact && impact.moved) || {}, out = [];
    [["households", "户"], ["buildings", "栋楼"], ["addresses", "个地址"], ["open_cases", "件未结案件"]].forEach(function (kv) {
      if (m[kv[0]]) out.push(m[kv[0]] + " " + kv[1]);
    });
    return out.length ? "移动 " + out.join("、") : "不移动住户";
  }

  function preview(path, body, title, drawn) {
    clearPreview();
    previewBox.hidden = false;
    state.pending = {path: path, body: body, drawn: drawn ? drawn.addTo(map) : null};
    fill(previewBox, [el("p", {className: "gg-muted", text: "正在计算 " + title + " 的影响…"})]);
    api(path + "?dry_run=true", {method: "POST", body: body}).then(function (res) {
      if (!state.pending || state.pending.body !== body) return;
      var balance = {};
      ((res.impact && res.impact.balance) || []).forEach(function (b) { balance[b.code] = b; });
      var layer = L.geoJSON(res.grids, {renderer: renderer, style: function (f) {
        var b = balance[f.properties.code] || {};
        return {color: "#e65100", weight: 3, fillColor: BAND_COLOURS[b.status] || "#ffca28", fillOpacity: 0.6};
      }, interactive: false}).addTo(map);
      layer.eachLayer(function (l) {
        var b = balance[l.feature.properties.code];
        if (b) l.bindTooltip(b.households + " 户", {permanent: true, direction: "center", className: "gg-hh-tip"}).openTooltip();
      });
      state.pending.layer = layer;
      hide(res.changed.concat(res.removed, Object.keys(res.renames || {})));
      var rows = (res.impact.balance || []).map(function (b) {
        var isNew = res.added.indexOf(b.code) >= 0;
        return el("li", {className: "gg-pv gg-pv-" + b.status, "data-code": b.code}, [el("b", {text: b.code}), isNew ? el("span", {className: "gg-tag", text: "新增"}) : null,
          el("span", {className: "gg-pv-hh", text: b.households + " 户"}), el("span", {text: lab("band", b.status) + "（" + b.low + "–" + b.high + "）"})]);
      });
      var warn = (res.warnings || []).length ? el("p", {className: "gg-warn", text: "注意：" + res.warnings.join("；")}) : null;
      var empty = res.added.length ? el("p", {className: "gg-warn", text: "新网格 " + res.added.join("、") + " 暂无在岗人员，接受后请填写。"}) : null;
      fill(previewBox, [el("h3", {text: title}), el("ul", {className: "gg-pv-list"}, rows), el("p", {text: moved(res.impact)}), warn, empty,
        el("div", {className: "gg-buttons"}, [button("接受", accept, "gg-btn gg-accept"), button("放弃", restartTool, "gg-btn gg-btn-quiet gg-cancel")])]);
      say(toolMsg, "预览：接受后写入方案，放弃则不作改动。");
    }).catch(function (err) {
      if (state.pending && state.pending.drawn) map.removeLayer(state.pending.drawn);
      state.pending = null;
      fill(previewBox, []);
      previewBox.hidden = true;
      sayError(toolMsg, "无法预览：", err);
      if (state.draw) state.draw.enable();
    });
  }

  function accept() {
    var pending = state.pending;
    if (!pending) return;
    var accept = previewBox.querySelector(".gg-accept");
    if (accept) accept.disabled = true;
    say(toolMsg, "正在写入方案…");
    api(pending.path, {method: "POST", body: pending.body}).then(function (res) {
      var touched = res.added.concat(res.changed);
      var gone = res.removed.concat(Object.keys(res.renames || {}));
      state.tool = null;
      setTool(null);  // done: the next edit starts from its tool's button
      return refresh(touched, gone).then(reloadLog).then(function () {
        say(toolMsg, "已写入方案（第 " + res.seq + " 步）：" + moved(res.impact) + "。", "ok");
        if (res.added.length) showPicked(res.added[0]);
      });
    }).catch(function (err) {
      if (accept) accept.disabled = false;
      sayError(toolMsg, "写入没有成功：", err);
    });
  }

  function undo() {
    var b = $("gg-undo");
    b.disabled = true;
    clearPreview();
    say(toolMsg, "正在撤销…");
    api("/undo", {method: "POST", body: {}}).then(function (res) {
      return refresh(res.restored, res.removed).then(reloadLog).then(function () {
        say(toolMsg, "已撤销第 " + res.undone + " 步（" + lab("op", res.op) + "）。", "ok");
      });
    }).catch(function (err) { sayError(toolMsg, "撤销没有成功：", err); })
      .then(function () { b.disabled = false; });
  }

  /* ------------------------------------------------------------------ the log */
  function reloadLog() {
    return api("").then(function (plan) {
      var items = plan.log.slice().reverse().map(function (e) {
        var what = lab("op", e.op);
        if (e.op === "undo") what += "（" + lab("op", e.params.op) + "，第 " + e.params.seq + " 步）";
        return el("li", {}, [el("time", {text: fmtTime(e.created_at)}), " ", el("b", {text: "第 " + e.seq + " 步 " + what}), " ",
          el("span", {className: "gg-who", text: actor(e.author)})]);
      });
      if (!items.length) items = [el("li", {className: "gg-muted gg-log-empty", text: "还没有编辑。"})];
      fill($("gg-log"), items);
      return plan;
    });
  }

  /* ------------------------------------------------------------------ validate, diff, publish */
  var checkOut = $("gg-check-out");

  function validationView(v) {
    var out = [];
    var defects = (v.coverage && v.coverage.defects) || [];
    out.push(el("p", {className: v.valid ? "gg-ok-line" : "gg-bad-line", text: v.valid ?
      "检查通过：" + v.grids + " 个网格覆盖完整、互不重叠、编码唯一。" : "检查未通过：发现 " + (defects.length + v.problems_zh.length) + " 处问题。"}));
    if (defects.length || v.problems_zh.length) {
      out.push(el("ul", {className: "gg-problems"}, v.problems_zh.map(function (p) { return el("li", {text: p}); }).concat(
        defects.slice(0, 20).map(function (d) { return el("li", {text: lab("defect", d.kind) + "：" + (d.ids || []).join("、")}); }))));
    }
    out.push(el("p", {text: "户数不在 " + data.band[0] + "–" + data.band[1] + " 户之间的网格：" + v.out_of_band + " 个。"}));
    if (v.unstaffed.length) out.push(el("p", {className: "gg-warn", text: "无人在岗的网格：" + v.unstaffed.join("、")}));
    else out.push(el("p", {text: "每个网格都有在岗人员。"}));
    return out;
  }

  function validate() {
    fill(checkOut, [el("p", {className: "gg-muted", text: "正在检查整个方案…"})]);
    return api("/validate", {method: "POST", body: {}}).then(function (v) {
      fill(checkOut, validationView(v));
      checkOut.dataset.valid = String(v.valid);
      return v;
    }).catch(function (err) { fill(checkOut, [el("p", {})]); sayError(checkOut.firstChild, "检查没有完成：", err); throw err; });
  }

  function diff() {
    fill(checkOut, [el("p", {className: "gg-muted", text: "正在比较方案与现行网格…"})]);
    return api("/diff").then(function (fc) {
      if (state.before) map.removeLayer(state.before);
      state.before = L.geoJSON(fc.before, {renderer: renderer, style: {color: "#c62828", weight: 2, dashArray: "6 4", fill: false},
        interactive: false}).addTo(map);
      var s = fc.summary || {};
      var rows = fc.features.map(function (f) {
        var p = f.properties;
        var hh = (p.households_before === null ? "—" : p.households_before) + " → " + (p.households_after === null ? "—" : p.households_after) + " 户";
        return el("li", {}, [el("span", {className: "gg-tag gg-tag-" + p.change, text: lab("change", p.change)}), " ", el("b", {text: p.code}), " " + (p.name || ""), el("small", {text: " " + hh})]);
      });
      fill(checkOut, [el("p", {text: "与第 " + s.from_generation + " 版相比：新增 " + s.added + "，调整 " + s.changed + "，撤销 " + s.removed + " 个网格（红色虚线为改前边界）。"}),
        rows.length ? el("ul", {className: "gg-diff-list"}, rows) : el("p", {className: "gg-muted", text: "方案还没有改动。"}),
        el("p", {}, [el("a", {href: data.diffPage, text: "在差异地图中查看"}), "　", el("a", {href: data.api + "/diff?format=gpkg", text: "下载 GeoPackage（QGIS）"})])]);
      return fc;
    }).catch(function (err) { fill(checkOut, [el("p", {})]); sayError(checkOut.firstChild, "差异没有算出：", err); });
  }

  function publishAsk() {
    var dialog = $("gg-confirm"), body = $("gg-confirm-body");
    validate().then(function (v) {
      if (!v.valid) return;
      return api("/diff").then(function (fc) {
        var s = fc.summary || {};
        var parts = [el("p", {text: "发布后方案立即成为现行网格（第 " + s.to_generation + " 版），第 " + s.from_generation + " 版停用并保留为历史。"}),
          el("p", {text: "新增 " + s.added + "、调整 " + s.changed + "、撤销 " + s.removed + " 个网格；辖区内未结案件会记下新的所属网格。"})];
        if (v.unstaffed.length) parts.push(el("p", {className: "gg-warn", text: "以下网格仍然无人在岗：" + v.unstaffed.join("、") + "。确定要发布吗？"}));
        fill(body, parts);
        dialog.hidden = false;
        $("gg-confirm-yes").focus();
      });
    }).catch(function () { /* shown by validate() */ });
  }

  function publish() {
    var dialog = $("gg-confirm"), yes = $("gg-confirm-yes");
    yes.disabled = true;
    fill(checkOut, [el("p", {className: "gg-muted", text: "正在发布…"})]);
    api("/publish", {method: "POST", body: {}}).then(function (res) {
      return reloadLog().then(function () { return res; });
    }).then(function (res) {
      dialog.hidden = true;
      state.editable = false;
      setTool(null);
      doc.querySelectorAll("#gg-tools, #gg-publish, #gg-roster").forEach(function (n) { n.hidden = true; });
      var badge = $("gg-plan-status");
      badge.textContent = lab("state", "published");
      badge.className = "gg-status gg-ps gg-ps-published";
      fill(checkOut, [el("p", {className: "gg-ok-line", text: "已发布为第 " + res.published_generation + " 版：共 " + res.grids + " 个网格，" +
        res.cases_regridded + " 件未结案件记下新网格，" + res.roster_added + " 人加入在岗名册" +
        (res.roster_moved ? "，" + res.roster_moved + " 条名册随合并或改码转到新网格" : "") + "。"}),
        el("p", {}, [el("a", {className: "gg-btn", href: data.mapPage, id: "gg-to-map", text: "到网格地图查看"})])]);
      summarise();
    }).catch(function (err) {
      dialog.hidden = true;
      fill(checkOut, [el("p", {})]);
      sayError(checkOut.firstChild, "发布没有成功：", err);
    }).then(function () { yes.disabled = false; });
  }

  /* ------------------------------------------------------------------ wiring */
  doc.querySelectorAll(".gg-tool[data-tool]").forEach(function (b) {
    b.addEventListener("click", function () { setTool(b.dataset.tool); });
  });
  if ($("gg-undo")) $("gg-undo").addEventListener("click", undo);
  if ($("gg-validate")) $("gg-validate").addEventListener("click", function () { validate().catch(function () {}); });
  $("gg-diff").addEventListener("click", diff);
  if ($("gg-publish")) $("gg-publish").addEventListener("click", publishAsk);
  $("gg-confirm-yes").addEventListener("click", publish);
  $("gg-confirm-no").addEventListener("click", function () { $("gg-confirm").hidden = true; });
  doc.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !$("gg-confirm").hidden) $("gg-confirm").hidden = true;
  });
  load();
  global.geoGridWorkspace = {map: map, state: state, refresh: refresh, focus: focus};
})(window);
