/* geo-grid map export: the current view as a PNG, and a print layout for paper or PDF.
 *
 * Both lay the view out the same way (a "sheet"): a title, the area and the date and time in the
 * district's zone above the map; in the map its legend, info box, metric scale bar and a north
 * arrow; under it the view's extent. The PNG is drawn by html-to-image (fetched at setup like
 * Leaflet, loaded only when first asked for); the print layout is the browser's own printing
 * (A4 landscape), which saves a PDF as well. Nothing leaves the intranet: tiles of another
 * server the browser may not read back are left out of the PNG, never fetched elsewhere.
 */
(function (global) {
  "use strict";

  var BLANK = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  var NORTH = '<svg viewBox="0 0 40 56" width="30" height="42" aria-label="指北针">' +
    '<polygon points="20,4 31,40 20,33 9,40" fill="#222"/>' +
    '<polygon points="20,4 20,33 9,40" fill="#fff" stroke="#222" stroke-width="1.5"/>' +
    '<text x="20" y="54" text-anchor="middle" font-size="13" font-weight="700" fill="#222">北</text></svg>';

  /* html-to-image beside this script: <asset base>/vendor/... for <asset base>/js/this file, on
   * the server as in a folder written by geo-grid map (links there are relative). */
  var HERE = document.currentScript ? document.currentScript.src : "";
  var LIBRARY = HERE.replace(/js\/geo_grid_export\.js(\?.*)?$/, "vendor/html-to-image/html-to-image.js");

  function esc(v) { return global.geoGrid.esc(v); }

  /* Now in the district's zone: "2026-12-07 10:37". */
  function now(zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {timeZone: zone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"})
      .formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  function loadScript(src) {
    return new Promise(function (done, fail) {
      if (global.htmlToImage) { done(); return; }
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { done(); };
      s.onerror = function () { fail(new Error("无法载入 " + src)); };
      document.head.appendChild(s);
    });
  }

  function fixed(v) { return v.toFixed(4); }

  /* The page's 导出表格: the spreadsheet made by a job (geo_grid_jobs.js), its progress on a line
   * under the buttons, then downloaded. */
  var SHEET_REFUSED = {403: "无权导出这些数据", 422: "导出条件有误，请刷新页面后再试"};

  /* The export buttons, and the sheet both exports lay out. opts: title, place (the district or
   * the viewer's area), zone (IANA), zoneName (北京时间), sheet (the URL that starts the job of
   * the page's spreadsheet, POST, or null: then no 导出表格 button). */
  function exporter(map, opts) {
    var sheet = null, north = null, saved = null;

    function layout() {
      var root = map.getContainer(), when = now(opts.zone) + " (" + opts.zoneName + ")";
      var place = global.geoGrid.focusName || opts.place || "";
      var b = map.getBounds();
      saved = {parent: root.parentNode, next: root.nextSibling, centre: map.getCenter(),
        zoom: map.getZoom()};
      sheet = document.createElement("div");
      sheet.className = "gg-sheet";
      sheet.innerHTML = '<header class="gg-sheet-head"><h1>' + esc(opts.title) + "</h1><p>" +
        (place ? "<span>区域：" + esc(place) + "</span>" : "") + "<span>制图时间：" + esc(when) +
        "</span></p></header>";
      saved.parent.insertBefore(sheet, root);
      sheet.appendChild(root);
      var foot = document.createElement("footer");
      foot.className = "gg-sheet-foot";
      foot.textContent = "图幅范围：东经 " + fixed(b.getWest()) + "°–" + fixed(b.getEast()) +
        "°，北纬 " + fixed(b.getSouth()) + "°–" + fixed(b.getNorth()) + "°（CGCS2000）";
      sheet.appendChild(foot);
      document.body.classList.add("gg-printing");
      north = L.control({position: "topright"});
      north.onAdd = function () {
        var div = L.DomUtil.create("div", "gg-north");
        div.innerHTML = NORTH;
        return div;
      };
      north.addTo(map);
      map.invalidateSize({pan: false});
      map.setView(saved.centre, saved.zoom, {animate: false});
    }

    function restore() {
      if (!sheet) return;
      var root = map.getContainer();
      saved.parent.insertBefore(root, saved.next);
      sheet.remove();
      sheet = null;
      north.remove();
      document.body.classList.remove("gg-printing");
      map.invalidateSize({pan: false});
      map.setView(saved.centre, saved.zoom, {animate: false});
    }

    function settled() {  // a frame for the layout, another for the canvases to redraw
      return new Promise(function (done) {
        requestAnimationFrame(function () { requestAnimationFrame(function () { setTimeout(done, 300); }); });
      });
    }

    function png(button) {
      button.disabled = true;
      var name = opts.title + "_" + now(opts.zone).slice(0, 10) + ".png";
      return loadScript(LIBRARY).then(function () {
        layout();
        return settled();
      }).then(function () {
        return global.htmlToImage.toPng(sheet, {pixelRatio: 1, imagePlaceholder: BLANK,
          backgroundColor: "#ffffff",
          filter: function (node) { return !(node.classList && node.classList.contains("gg-noprint")); }});
      }).then(function (url) {
        restore();
        var a = document.createElement("a");
        a.href = url;
        a.download = name;
        document.body.appendChild(a);
        a.click();
        a.remove();
      }).catch(function (err) {
        restore();
        global.alert("导出图片失败：" + err.message);
      }).then(function () { button.disabled = false; });
    }

    function print() {
      layout();
      global.addEventListener("afterprint", restore, {once: true});
      return settled().then(function () { global.print(); });
    }

    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-export leaflet-bar gg-noprint");
      div.innerHTML = '<button type="button" class="gg-png" title="把当前视图存为图片">导出图片</button>' +
        '<button type="button" class="gg-print" title="打印当前视图，或另存为 PDF 文件">打印</button>' +
        (opts.sheet ? '<button type="button" class="gg-xlsx" title="生成并下载本页数据的 Excel ' +
          '表格">导出表格</button><div class="gg-xlsx-msg" role="status" hidden></div>' : "");
      L.DomEvent.disableClickPropagation(div);
      if (opts.sheet) {
        global.geoGridJobs.fileButton(div.querySelector(".gg-xlsx"),
          div.querySelector(".gg-xlsx-msg"), opts.sheet, SHEET_REFUSED);
      }
      var pngButton = div.querySelector(".gg-png");
      pngButton.addEventListener("click", function () { png(pngButton); });
      div.querySelector(".gg-print").addEventListener("click", print);
      return div;
    };
    control.addTo(map);
    return {control: control, png: png, print: print, layout: layout, restore: restore};
  }

  global.geoGridExport = {exporter: exporter};
})(window);
