/* geo-grid dispatch page: the queue of cases awaiting placement, a click to see who is
 * responsible there, and a confirmation that routes the case through the cases API.
 *
 * geoGridDispatch.panel(map, opts, layers) with opts {queueUrl, locateUrl, routeUrl ("{id}"
 * replaced), crs, layerNames, roleNames, categories} (Chinese labels from geo_grid/labels.py) and
 * layers {grids: unified grid layer from geoGrid.dataLayer}. The queue answer may be a list or
 * {data: [...]} of cases with id, number, address_text, category_name or category_code,
 * manual_reason_zh (else manual_reason), received_at. Nothing is sent before the
 * dispatcher confirms. The spot's panel also links the grid's page, cases and indicators
 * (geoGridIdentify.linksFor, geo_grid/static/js/geo_grid_identify.js).
 */
(function (global) {
  "use strict";
  var esc = function (v) { return global.geoGrid.esc(v); };

  function getJSON(url, init) {
    // X-Requested-With: the API accepts the session cookie on writes only with it (no CSRF)
    return fetch(url, L.extend({headers: {Accept: "application/json",
      "Content-Type": "application/json", "X-Requested-With": "geo-grid"},
      credentials: "same-origin"}, init || {})).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) {
          var detail = body && ((body.error && body.error.message) || body.detail || body.message);
          if (detail && typeof detail !== "string") detail = JSON.stringify(detail);
          throw new Error(detail || "HTTP " + r.status);
        }
        return body;
      });
    });
  }

  function rows(body) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.data)) return body.data;
    if (body && Array.isArray(body.items)) return body.items;
    return [];
  }

  function panel(map, opts, layers) {
    var state = {cases: [], picked: null, spot: null, located: null};
    var control = L.control({position: "topright"});
    var root, list, place, msg, hint;
    var marker = null, outline = null;

    control.onAdd = function () {
      root = L.DomUtil.create("div", "gg-panel");
      root.innerHTML = '<h3>待派遣案件 <span class="gg-count"></span></h3>' +
        '<div class="gg-hint">选择一件案件，再在地图上点击事发位置</div>' +
        '<ul class="gg-queue"></ul><div class="gg-place"></div><div class="gg-msg"></div>';
      list = root.querySelector(".gg-queue");
      place = root.querySelector(".gg-place");
      msg = root.querySelector(".gg-msg");
      hint = root.querySelector(".gg-hint");
      L.DomEvent.disableClickPropagation(root);
      L.DomEvent.disableScrollPropagation(root);
      return root;
    };
    control.addTo(map);

    function say(text, error) {
      msg.textContent = text || "";
      msg.className = "gg-msg" + (error ? " gg-error" : "");
    }

    function render() {
      root.querySelector(".gg-count").textContent = "（" + state.cases.length + "）";
      if (!state.cases.length) {
        list.innerHTML = '<li class="gg-empty">暂无待派遣案件</li>';
        return;
      }
      list.innerHTML = state.cases.map(function (c) {
        var cat = c.category_name || (opts.categories || {})[c.category_code] || c.category_code || "";
        var reason = c.manual_reason_zh || c.manual_reason;
        var why = reason ? "（" + reason + "）" : "";
        return '<li data-id="' + esc(c.id) + '"' +
          (state.picked && String(state.picked.id) === String(c.id) ? ' class="gg-picked"' : "") +
          "><b>" + esc(c.number || c.id) + "</b> " + esc(cat) +
          "<small>" + esc(c.address_text || "（无地址）") + esc(why) + "</small></li>";
      }).join("");
    }

    function clearSpot() {
      if (marker) map.removeLayer(marker);
      if (outline) map.removeLayer(outline);
      marker = outline = null;
      state.spot = state.located = null;
      place.innerHTML = "";
    }

    function load() {
      return getJSON(opts.queueUrl).then(function (body) {
        state.cases = rows(body);
        render();
      }).catch(function (err) {
        state.cases = [];
        render();
        say("无法读取待派遣队列（" + err.message + "）", true);
      });
    }

    list.addEventListener("click", function (ev) {
      var li = ev.target.closest("li[data-id]");
      if (!li) return;
      state.picked = state.cases.filter(function (c) { return String(c.id) === li.dataset.id; })[0];
      clearSpot();
      say("");
      hint.textContent = "在地图上点击 " + (state.picked.number || state.picked.id) + " 的位置";
      render();
    });

    function gridLayer(code) {
      var hit = null;
      if (layers && layers.grids && code) {
        layers.grids.geo.eachLayer(function (l) {
          if (l.feature.properties.code === code) hit = l;
        });
      }
      return hit;
    }

    function showLocated(at, data) {
      var hit = gridLayer(data.grid_code);
      if (hit) {
        outline = L.geoJSON(hit.feature, {style: {color: "#d50000", weight: 3, fillOpacity: 0.08},
          interactive: false}).addTo(map);
      }
      var html = "<b>" + (data.grid_code ? "网格 " + esc(data.grid_code) : "不在任何全科网格内") +
        "</b>" + (hit && hit.feature.properties.name ? " " + esc(hit.feature.properties.name) : "");
      if (data.street_name || data.community_name) {
        html += "<br>" + esc([data.street_name, data.community_name].filter(Boolean).join(" "));
      }
      var hh = hit && hit.feature.properties.households;
      if (hh !== null && hh !== undefined) html += "<br>" + esc(hh) + " 户";
      var depts = Object.keys(data.grids || {}).filter(function (k) {
        return k !== "unified" && data.grids[k];
      });
      if (depts.length) {
        html += '<table class="gg-table">' + depts.map(function (k) {
          return "<tr><th>" + esc((opts.layerNames || {})[k] || k) + "</th><td>" +
            esc(data.grids[k]) + "</td></tr>";
        }).join("") + "</table>";
      }
      var people = (data.roster || []).map(function (p) {
        return esc((opts.roleNames || {})[p.role] || p.role) + " " + esc(p.name);
      });
      if (people.length) html += "<div>" + people.join("，") + "</div>";
      if (state.picked && data.grid_code) {
        html += '<button type="button" class="gg-confirm">确认派遣到此网格</button>';
      } else if (!state.picked) {
        html += "<div>先在左侧列表中选择一件案件</div>";
      }
      place.innerHTML = html;
      // the grid's page, cases and indicators (geo_grid_identify.js lends them to this page)
      var links = data.grid_code && global.geoGridIdentify && global.geoGridIdentify.linksFor(data.grid_code);
      if (links) place.appendChild(links);
      var btn = place.querySelector(".gg-confirm");
      if (btn) btn.addEventListener("click", confirm);
    }

    map.on("click", function (ev) {
      clearSpot();
      say("");
      var at = ev.latlng;
      state.spot = at;
      marker = L.circleMarker(at, {radius: 7, color: "#111", weight: 2, fillColor: "#ffeb3b",
        fillOpacity: 1}).addTo(map);
      var url = opts.locateUrl + "?lon=" + at.lng.toFixed(6) + "&lat=" + at.lat.toFixed(6) +
        "&crs=" + encodeURIComponent(opts.crs || "wgs84");
      place.textContent = "查询中…";
      getJSON(url).then(function (data) {
        state.located = data;
        showLocated(at, data);
      }).catch(function (err) {
        place.textContent = "";
        say("定位失败（" + err.message + "）", true);
      });
    });

    function confirm() {
      var c = state.picked, at = state.spot;
      if (!c || !at) return;
      var url = opts.routeUrl.replace("{id}", encodeURIComponent(c.id));
      var body = {lon: Number(at.lng.toFixed(6)), lat: Number(at.lat.toFixed(6)),
        crs: opts.crs || "wgs84"};
      say("派遣中…");
      getJSON(url, {method: "POST", body: JSON.stringify(body)}).then(function (res) {
        var grid = (res && (res.grid_code || res.responsible_grid)) ||
          (state.located && state.located.grid_code);
        state.cases = state.cases.filter(function (x) { return String(x.id) !== String(c.id); });
        state.picked = null;
        clearSpot();
        render();
        hint.textContent = "选择一件案件，再在地图上点击事发位置";
        say("已派遣 " + (c.number || c.id) + (grid ? " → 网格 " + grid : ""));
      }).catch(function (err) {
        say("派遣失败（" + err.message + "）", true);
      });
    }

    load();
    return {control: control, reload: load, state: state};
  }

  global.geoGridDispatch = {panel: panel};
})(window);
