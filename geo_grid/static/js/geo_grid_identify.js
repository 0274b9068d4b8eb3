/* geo-grid click to identify (geo_grid/maps/identify.py): a click or a tap on a map page opens a
 * panel about the unified grid at that point.
 *
 * geoGridIdentify.attach(map, {locateUrl, gridUrl ("{code}": the unified layer's), meUrl, crs, layerNames,
 * roleNames (the default roles' names, for an answer without role_zh: a district names its own roles),
 * district, links: [{key, href ("{code}", "{district}"), label, roles}]}). A click asks
 * locateUrl?lon=&lat=(&crs=) for every layer's grid there, the community, the street and the
 * people on duty, and gridUrl for the grid's name, households and outline (drawn when the page's
 * tiles are in storage coordinates, i.e. no crs). The panel shows them with what the page says of
 * the feature clicked (its tooltip) and the links the person's role may open (meUrl tells the
 * role). While a drawing tool is in use (Leaflet.draw), clicks are the drawing's. A page opened
 * with #grid=<code> opens on that grid with its panel. Every text from an answer goes in as text.
 * The pages the person's role may open (meUrl's ``pages``, the case pages' header menu) are a
 * folded 页面 menu in the top right corner: the map pages, where login lands, have no header.
 */
(function (global) {
  "use strict";

  /* geo_grid_map.js (add_identify links it first): elements, point in polygon. */
  var gg = global.geoGrid, el = gg.el, pointIn = gg.pointIn;

  function getJSON(url) {
    return global.fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
        return r.json();
      });
  }

  /* A point inside a (multi)polygon: its box's centre, else one between it and a vertex. */
  function inside(geom) {
    var rings = geom.type === "Polygon" ? [geom.coordinates[0]] : geom.coordinates.map(function (p) { return p[0]; });
    var xs = [], ys = [];
    rings.forEach(function (r) { r.forEach(function (c) { xs.push(c[0]); ys.push(c[1]); }); });
    var cx = (Math.min.apply(null, xs) + Math.max.apply(null, xs)) / 2;
    var cy = (Math.min.apply(null, ys) + Math.max.apply(null, ys)) / 2;
    if (pointIn(cx, cy, geom)) return [cx, cy];
    for (var i = 0; i < xs.length; i++) {
      for (var t = 0.25; t < 1; t += 0.25) {
        var x = xs[i] + (cx - xs[i]) * t, y = ys[i] + (cy - ys[i]) * t;
        if (pointIn(x, y, geom)) return [x, y];
      }
    }
    return [xs[0], ys[0]];
  }

  var shared = null;

  /* The links of grid ``code`` the person may open, from the page's identify options. */
  function linksFor(code) { return shared ? shared(code) : null; }

  /* The 页面 menu: a button that unfolds the links to the pages the role may open. */
  function pagesMenu(map, pages) {
    var control = L.control({position: "topright"});
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "gg-pages leaflet-bar");
      var list = el("ul", {hidden: true}, pages.map(function (p) {
        var here = global.location && global.location.pathname === p.href;
        return el("li", {}, [el("a", {href: p.href, text: p.label, className: here ? "gg-pages-here" : ""})]);
      }));
      var button = el("button", {type: "button", text: "页面", "aria-expanded": "false", title: "打开其他页面"});
      button.addEventListener("click", function () {
        list.hidden = !list.hidden;
        button.setAttribute("aria-expanded", String(!list.hidden));
      });
      box.appendChild(button);
      box.appendChild(list);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
  }

  function attach(map, opts) {
    var state = {role: null, drawing: false, outline: null, seq: 0};
    getJSON(opts.meUrl).then(function (me) {
      state.role = me.role;
      if (me.pages && me.pages.length) pagesMenu(map, me.pages);
    }).catch(function () { state.role = ""; });
    shared = links;
    if (opts.clicks === false) return {links: links};
    var control = L.control({position: "bottomleft"});
    var box;
    control.onAdd = function () {
      box = L.DomUtil.create("div", "gg-identify");
      box.hidden = true;
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-label", "网格信息");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);

    map.on("draw:drawstart", function () { state.drawing = true; });
    map.on("draw:drawstop", function () { global.setTimeout(function () { state.drawing = false; }, 0); });

    function close() {
      box.hidden = true;
      if (state.outline) { map.removeLayer(state.outline); state.outline = null; }
    }

    function show(children) {
      while (box.firstChild) box.removeChild(box.firstChild);
      var shut = el("button", {type: "button", className: "gg-identify-close", "aria-label": "关闭", text: "×"});
      shut.addEventListener("click", close);
      box.appendChild(shut);
      children.forEach(function (c) { if (c) box.appendChild(c); });
      box.hidden = false;
    }

    function rows(pairs) {
      return el("table", {className: "gg-table"}, pairs.filter(function (p) { return p[1] !== null && p[1] !== undefined && p[1] !== ""; })
        .map(function (p) { return el("tr", {}, [el("th", {text: p[0]}), el("td", {text: String(p[1])})]); }));
    }

    function links(code) {
      var allowed = (opts.links || []).filter(function (l) {
        return !l.roles.length || (state.role && l.roles.indexOf(state.role) >= 0);
      });
      if (!allowed.length) return null;
      return el("p", {className: "gg-identify-links"}, allowed.map(function (l) {
        var href = l.href.replace("{code}", encodeURIComponent(code)).replace("{district}", encodeURIComponent(opts.district || ""));
        return el("a", {href: href, "data-link": l.key, text: l.label});
      }));
    }

    /* What the page itself says of the feature clicked: its tooltip (our escaped HTML). */
    function onPage(layer) {
      if (opts.pageInfo === false) return null;
      var tip = layer && layer.getTooltip && layer.getTooltip();
      var content = tip && tip.getContent();
      if (typeof content !== "string" || !content) return null;
      var node = el("div", {className: "gg-identify-page"}, [el("h4", {text: "本图信息"})]);
      var body = el("div");
      body.innerHTML = content;
      node.appendChild(body);
      return node;
    }

    function render(located, grid, layer) {
      var code = located ? located.grid_code : grid && grid.code;
      if (!code) {
        show([el("h3", {text: located && located.inside_district ? "此处不在任何全科网格内" : "此处不在您的辖区内"}),
          located && (located.street_name || located.community_name) ?
            rows([["街道", located.street_name], ["社区", located.community_name]]) : null]);
        return;
      }
      var roster = (located ? located.roster : (grid && grid.roster) || []).filter(function (p) { return (p.duty || p.role) !== "party_household"; });
      var depts = located ? Object.keys(located.grids || {}).filter(function (k) { return k !== "unified" && located.grids[k]; }) : [];
      show([
        el("h3", {}, [el("span", {text: (grid && grid.name) || "全科网格"}), " ", el("small", {className: "gg-code", text: code})]),
        rows([["社区", (grid && grid.community) || (located && located.community_name)],
          ["街道", (grid && grid.street) || (located && located.street_name)],
          ["户数", grid && grid.households !== null && grid.households !== undefined ? grid.households + " 户" : ""]]),
        el("h4", {text: "在岗人员"}),
        roster.length ? el("ul", {className: "gg-identify-duty"}, roster.map(function (p) {
          return el("li", {}, [el("span", {className: "gg-role", text: p.role_zh || (opts.roleNames || {})[p.role] || p.role}), " " + p.name]);
        })) : el("p", {className: "gg-muted", text: "暂无在岗人员登记"}),
        depts.length ? el("h4", {text: "部门网格"}) : null,
        depts.length ? rows(depts.map(function (k) { return [(opts.layerNames || {})[k] || k, located.grids[k]]; })) : null,
        onPage(layer),
        links(code)
      ]);
      box.dataset.code = code;
      if (grid && grid.geometry && !opts.crs) {
        if (state.outline) map.removeLayer(state.outline);
        state.outline = L.geoJSON(grid.geometry, {interactive: false,
          style: {color: "#111", weight: 3, dashArray: "5 4", fill: false}}).addTo(map);
      }
    }

    /* The panel of the point (lon, lat) in ``crs`` (the tiles' when clicked, storage's else). */
    function identify(lon, lat, layer, crs) {
      var mine = ++state.seq;
      show([el("p", {className: "gg-muted", text: "查询中…"})]);
      var url = opts.locateUrl + "?lon=" + lon.toFixed(7) + "&lat=" + lat.toFixed(7) + "&crs=" + encodeURIComponent(crs || "cgcs2000");
      getJSON(url).then(function (located) {
        if (!located.grid_code) return [located, null];
        return getJSON(opts.gridUrl.replace("{code}", encodeURIComponent(located.grid_code)))
          .then(function (grid) { return [located, grid]; }, function () { return [located, null]; });
      }).then(function (found) {
        if (mine !== state.seq) return;
        render(found[0], found[1], layer);
      }).catch(function (err) {
        if (mine !== state.seq) return;
        show([el("p", {className: "gg-msg gg-error", text: err.status === 401 ? "登录已失效，请重新登录。" : "无法查询此处的网格，请稍后再试。"})]);
      });
    }

    /* The feature clicked, if any: its own click comes just before the map's. */
    function remember(layer) {
      if (!layer.feature || layer._ggIdentify) return;
      layer._ggIdentify = true;
      layer.on("click", function () { state.clicked = layer; state.clickedAt = Date.now(); });
    }
    map.eachLayer(remember);
    map.on("layeradd", function (ev) { remember(ev.layer); });

    map.on("click", function (ev) {
      if (state.drawing) return;
      var layer = state.clicked && Date.now() - state.clickedAt < 200 ? state.clicked : null;
      state.clicked = null;
      identify(ev.latlng.lng, ev.latlng.lat, layer, opts.crs);
    });

    /* #grid=<code>: open on that grid, its panel shown (with the page's own word on it). */
    var wanted = /(?:^#|&)grid=([0-9A-Za-z_-]{1,64})/.exec(global.location.hash || "");
    if (wanted) {
      var code = wanted[1];
      getJSON(opts.gridUrl.replace("{code}", encodeURIComponent(code))).then(function (grid) {
        var at = inside(grid.geometry), page = null;
        map.eachLayer(function (l) { if (!page && l.feature && l.feature.properties && l.feature.properties.code === code && l.getTooltip) page = l; });
        if (!opts.crs) map.fitBounds(L.geoJSON(grid.geometry).getBounds(), {maxZoom: 16, padding: [30, 30], animate: false});
        identify(at[0], at[1], page, "cgcs2000");
      }).catch(function () { show([el("p", {className: "gg-msg gg-error", text: "没有找到网格 " + code + "。"})]); });
    }
    return {control: control, identify: identify, close: close};
  }

  global.geoGridIdentify = {attach: attach, pointIn: pointIn, linksFor: linksFor};
})(window);
