/**
 * The status page's inline script, plain browser JavaScript (no build step). It polls
 * /api/status every 5 s and redraws. Everything that comes from the database or from devices
 * is written with textContent / setAttribute, never parsed as HTML.
 *
 * Kept free of backticks, `${` and backslashes so that it can live in this template literal
 * unchanged; its CSP hash is computed from this exact text.
 */
export const PAGE_SCRIPT = `
'use strict';
(function () {
  var REFRESH_MS = 5000;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var nf = new Intl.NumberFormat('fr-FR');
  var nf1 = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
  var TYPE_LABELS = {
    INVALID_ENCODING: 'Encodage invalide',
    BAC_NOT_FOUND: 'Bac introuvable',
    INVALID_PAYLOAD: 'Message invalide',
    UNKNOWN_SENSOR: 'Capteur inconnu',
    INVALID_VALUE: 'Valeur invalide',
    VALUE_OUT_OF_RANGE: 'Valeur hors limites',
    MQTT_DISCONNECT: 'Coupure du broker',
    DB_ERROR: 'Base de données indisponible',
    DB_INSERT_ERROR: 'Ligne refusée par la base',
    UNEXPECTED_ERROR: 'Erreur inattendue'
  };
  // Nicer names for the three shipped sensors only. Sensors are data: any other capteur.type
  // shows as itself, with the unit of its capteur row, without a new release.
  var CAPTEUR_LABELS = {
    humiditeAmbiante: 'Humidité ambiante',
    humiditeSol: 'Humidité du sol',
    temperatureAmbiante: 'Température ambiante'
  };
  /** Serres opened or closed by hand, by numero: kept across refreshes. */
  var serreOpen = {};
  var lastSuccess = null;

  function $(id) { return document.getElementById(id); }

  /** labels[key], or fallback: a type from the database may be 'constructor' or '__proto__'. */
  function label(labels, key, fallback) {
    return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : fallback;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function plural(n, one, many) { return nf.format(n) + ' ' + (n > 1 ? many : one); }

  function duration(seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min' + (s % 60 ? ' ' + (s % 60) + ' s' : '');
    var h = Math.floor(m / 60);
    if (h < 24) return h + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    return Math.floor(h / 24) + ' j ' + (h % 24) + ' h';
  }

  function bytes(n) {
    if (n < 1024) return plural(n, 'octet', 'octets');
    if (n < 1048576) return nf1.format(n / 1024) + ' Ko';
    if (n < 1073741824) return nf1.format(n / 1048576) + ' Mo';
    return nf1.format(n / 1073741824) + ' Go';
  }

  /** 'YYYY-MM-DD HH:MM:SS' (the bridge's zone) as a French date, 'aujourd'hui' when it is today. */
  function frDateTime(text, today) {
    if (!text) return '—';
    var day = text.slice(0, 10);
    var time = text.slice(11, 19);
    if (day === today) return "aujourd'hui " + time;
    return day.slice(8, 10) + '/' + day.slice(5, 7) + '/' + day.slice(0, 4) + ' ' + time;
  }

  function setBadge(node, kind, text) {
    node.className = 'badge ' + kind;
    node.textContent = text;
  }

  function renderConnection(prefix, state, okText, koText) {
    setBadge($(prefix + '-badge'), state.connected ? 'ok' : 'ko', state.connected ? okText : koText);
    var count = plural(state.reconnects, 'reconnexion', 'reconnexions') + ' depuis le démarrage';
    if (!state.connected) $(prefix + '-detail').textContent = 'Le pont réessaie automatiquement (' + count + ').';
    else $(prefix + '-detail').textContent = state.reconnects > 0 ? count : 'Aucune coupure depuis le démarrage';
  }

  /** Writes held until someone fixes the database (a grant, a table, read-only) or it is reachable again. */
  function renderDbProblem(p) {
    var box = $('database-problem');
    box.hidden = !p;
    if (!p) { box.textContent = ''; return; }
    var todo = p.aFaire || p.fix;
    box.textContent = 'Les écritures en base sont suspendues : ' + p.cause + (todo ? ' — à faire : ' + todo : '');
    if (p.fix) setBadge($('database-badge'), 'ko', 'Écritures suspendues');
  }

  /** Receipt times come from the bridge's clock; the web app compares them with the database's. */
  function renderClock(c) {
    var el = $('database-clock');
    el.className = c && c.overLimit ? 'alert problem' : 'muted';
    if (!c) { el.textContent = ''; return; }
    var gap = Math.abs(c.skewSeconds).toLocaleString('fr-FR') + ' s';
    if (!c.overLimit) { el.textContent = 'Horloge du pont d’accord avec la base (écart ' + gap + ').'; return; }
    el.textContent = 'Horloge du pont en ' + (c.skewSeconds > 0 ? 'avance' : 'retard') + ' de ' + gap +
      ' sur la base (plus de ' + c.limitSeconds + ' s) : les heures des mesures seront décalées. Régler l’heure (NTP) du serveur du pont ou de la base.';
  }

  function renderJournal(j) {
    var badge = $('journal-badge');
    if (j.full || !j.underBudget) setBadge(badge, 'ko', 'Pleine');
    else if (j.entries > 0) setBadge(badge, 'warn', 'En attente');
    else setBadge(badge, 'ok', 'À jour');
    $('journal-entries').textContent = plural(j.entries, "message en attente d'écriture", "messages en attente d'écriture");
    $('journal-detail').textContent = j.entries > 0
      ? 'Le plus ancien attend depuis ' + duration(j.oldestAgeSeconds) + ' (' + bytes(j.bytes) + ' sur disque)'
      : 'Tout ce qui a été reçu est écrit dans la base.';
    $('journal-full').hidden = !(j.full || !j.underBudget);
    $('journal-retained').textContent = j.retained.entries > 0
      ? 'Après une restauration de la base, le pont peut réécrire ce qu’il a reçu depuis ' + duration(j.retained.oldestAgeSeconds) + ' (' + bytes(j.retained.bytes) + ' conservés).'
      : '';
  }

  /** The database went back (a restore, a failover) or the local journal was older than it. */
  function renderRecovery(r) {
    var box = $('journal-recovery');
    box.hidden = !r;
    if (!r) { box.textContent = ''; return; }
    var text;
    if (r.kind === 'refill') {
      text = 'Le ' + r.atText + ', la base avait perdu des écritures (restaurée d’une sauvegarde ? réplique en retard ?) : le pont réécrit ' +
        plural(r.toWriteAgain, 'message conservé', 'messages conservés') + ' (' + r.writtenAgain + ' déjà réécrits).';
      if (r.lost) text += ' Les messages reçus entre ' + (r.lost.from || 'le début') + ' et ' + (r.lost.to || '?') +
        ' ne peuvent pas être réécrits : le pont ne les conservait plus (JOURNAL_RETAIN). Ils manquent dans la base.';
    } else {
      text = 'Le ' + r.atText + ', la file locale était plus ancienne que la base (dossier DATA_DIR restauré, disque qui a perdu ses dernières écritures) : ' +
        'les messages reçus depuis ont été renumérotés puis écrits, rien n’est perdu.';
    }
    box.className = r.lost ? 'alert problem' : 'alert';
    box.textContent = text;
  }

  function niceCeil(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function renderChart(t) {
    var chart = $('chart');
    clear(chart);
    var points = t.samples.slice();
    if (t.current) points.push({ received: t.current.received, written: t.current.written, live: true });
    var slots = Math.round(t.windowSeconds / t.intervalSeconds) + 1;
    points = points.slice(-slots);
    var peak = 0, received = 0, written = 0;
    points.forEach(function (p) { peak = Math.max(peak, p.received, p.written); received += p.received; written += p.written; });
    var max = niceCeil(Math.max(1, peak));
    var W = slots * 10, H = 100;
    chart.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    chart.appendChild(svg('line', { x1: 0, y1: H / 2, x2: W, y2: H / 2, 'class': 'grid' }));
    chart.appendChild(svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, 'class': 'axis' }));
    var offset = slots - points.length;
    // Two bars per window (received, then written): a line would not show a single window.
    function bar(x, value, kind, live) {
      var h = (value / max) * H;
      chart.appendChild(svg('rect', { x: x, y: H - h, width: 4, height: h, 'class': 'bar ' + kind + (live ? ' live' : '') }));
    }
    points.forEach(function (p, i) {
      var x = (offset + i) * 10;
      bar(x + 1, p.received, 'received', p.live);
      bar(x + 5, p.written, 'written', p.live);
    });
    var minutes = Math.round(t.windowSeconds / 60);
    var summary = 'Sur les ' + minutes + ' dernières minutes : ' + plural(received, 'message reçu', 'messages reçus') +
      ', ' + plural(written, 'ligne écrite', 'lignes écrites') + '.';
    chart.setAttribute('aria-label', summary);
    chart.setAttribute('data-received', String(received));
    $('chart-summary').textContent = summary;
    $('chart-max').textContent = nf.format(max);
    $('chart-max-half').textContent = nf.format(max / 2);
    $('chart-unit').textContent = 'par tranche de ' + t.intervalSeconds + ' s';
    $('chart-start').textContent = 'il y a ' + minutes + ' min';
  }

  function messageRow(body, columns, text) {
    var tr = el('tr');
    var td = el('td', 'muted', text);
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
  }

  function cell(label, content) {
    var td = el('td');
    td.setAttribute('data-label', label);
    if (typeof content === 'string') td.textContent = content;
    else td.appendChild(content);
    return td;
  }

  function renderControllers(s, today) {
    var body = $('controllers-body');
    clear(body);
    var list = s.controllers;
    if (!list) {
      $('controllers-count').textContent = '';
      messageRow(body, 4, 'Indisponible : ' + s.controllersUnavailable);
      return;
    }
    var online = list.filter(function (c) { return c.online; }).length;
    $('controllers-count').textContent = nf.format(online) + ' en ligne, ' + nf.format(list.length - online) + ' hors ligne';
    if (list.length === 0) {
      messageRow(body, 4, 'Aucun contrôleur ne s’est encore annoncé.');
      return;
    }
    list.forEach(function (c) {
      var tr = el('tr');
      tr.setAttribute('data-mac', c.mac);
      var who = el('div');
      who.appendChild(el('strong', null, c.nom));
      who.appendChild(el('div', 'mono muted', c.mac));
      tr.appendChild(cell('Contrôleur', who));
      tr.appendChild(cell('Adresse IP', c.ip || '—'));
      tr.lastChild.classList.add('mono');
      var badge = el('span');
      setBadge(badge, c.online ? 'ok' : 'ko', c.online ? 'En ligne' : 'Hors ligne');
      tr.appendChild(cell('État', badge));
      var when = c.lastChangeAt
        ? frDateTime(c.lastChangeAt, today) + ' (il y a ' + duration(c.lastChangeAgeSeconds) + ')'
        : '—';
      tr.appendChild(cell('Dernier changement', when));
      body.appendChild(tr);
    });
  }

  function renderErrors(s, today) {
    var list = $('errors-list');
    clear(list);
    $('errors-total').textContent = plural(s.totals.errors, 'erreur', 'erreurs') + ' depuis le démarrage du pont';
    if (!s.errors) {
      list.appendChild(el('li', 'muted', 'Indisponible : ' + s.errorsUnavailable));
      return;
    }
    if (s.errors.length === 0) {
      list.appendChild(el('li', 'muted', 'Aucune erreur enregistrée.'));
      return;
    }
    s.errors.forEach(function (e) {
      var li = el('li', 'error-item');
      var head = el('div', 'error-head');
      var type = el('span', 'badge ko', label(TYPE_LABELS, e.type, 'Erreur') + ' · ' + e.type);
      head.appendChild(type);
      head.appendChild(el('span', 'muted', frDateTime(e.at, today)));
      li.appendChild(head);
      li.appendChild(el('p', 'error-message', e.message));
      if (e.valeur !== null && e.valeur !== '') {
        var v = el('p', 'error-valeur');
        v.appendChild(el('span', 'muted', 'Valeur reçue : '));
        v.appendChild(el('code', null, e.valeur + (e.valeurTruncated ? '…' : '')));
        li.appendChild(v);
      }
      list.appendChild(li);
    });
  }

  function ago(seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return 'il y a ' + s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return 'il y a ' + m + ' min';
    var h = Math.floor(m / 60);
    if (h < 24) return 'il y a ' + h + ' h ' + String(m % 60).padStart(2, '0');
    return 'il y a ' + Math.floor(h / 24) + ' j';
  }

  function sensorItem(c, today) {
    var li = el('li', c.silent ? 'silent' : null);
    li.setAttribute('data-capteur', c.type);
    li.appendChild(el('span', 'sensor-name', label(CAPTEUR_LABELS, c.type, c.type) + (c.silent ? ' · silencieux' : '')));
    li.appendChild(el('span', 'sensor-value', nf1.format(c.value) + (c.unite ? ' ' + c.unite : '')));
    var age = el('span', 'sensor-age', ago(c.ageSeconds));
    age.title = 'Dernière mesure : ' + frDateTime(c.at, today);
    li.appendChild(age);
    return li;
  }

  function bacTile(serre, bac, today) {
    var silent = bac.capteurs.filter(function (c) { return c.silent; }).length;
    var tile = el('div', 'bac' + (silent ? ' has-silent' : '') + (bac.capteurs.length ? '' : ' never'));
    tile.setAttribute('data-bac', serre.numero + '/' + bac.numero);
    tile.appendChild(el('div', 'bac-title', 'Bac ' + bac.numero));
    if (!bac.capteurs.length) {
      tile.appendChild(el('div', 'muted', 'Aucune mesure reçue'));
      return tile;
    }
    var list = el('ul', 'sensors');
    bac.capteurs.forEach(function (c) { list.appendChild(sensorItem(c, today)); });
    tile.appendChild(list);
    return tile;
  }

  function serreBlock(serre, openByDefault, today) {
    var silent = 0, never = 0;
    serre.bacs.forEach(function (b) {
      if (!b.capteurs.length) never++;
      b.capteurs.forEach(function (c) { if (c.silent) silent++; });
    });
    var details = el('details', 'serre');
    details.setAttribute('data-serre', String(serre.numero));
    var byDefault = openByDefault || silent > 0;
    details.open = serre.numero in serreOpen ? serreOpen[serre.numero] : byDefault;
    details.addEventListener('toggle', function () {
      if (details.open === byDefault) delete serreOpen[serre.numero];
      else serreOpen[serre.numero] = details.open;
    });
    var summary = el('summary');
    summary.appendChild(el('span', 'serre-name', 'Serre ' + serre.numero));
    var badge = el('span');
    if (silent) setBadge(badge, 'ko', plural(silent, 'capteur silencieux', 'capteurs silencieux'));
    else if (never === serre.bacs.length) setBadge(badge, 'unknown', 'Aucune mesure');
    else setBadge(badge, 'ok', 'À jour');
    summary.appendChild(badge);
    summary.appendChild(el('span', 'muted', plural(serre.bacs.length, 'bac', 'bacs') +
      (never ? ' · ' + plural(never, 'bac sans mesure', 'bacs sans mesure') : '')));
    details.appendChild(summary);
    var grid = el('div', 'bac-grid');
    serre.bacs.forEach(function (b) { grid.appendChild(bacTile(serre, b, today)); });
    details.appendChild(grid);
    return details;
  }

  function renderReadingsSilence(r) {
    var box = $('readings-silence');
    clear(box);
    box.hidden = !(r && r.silent);
    if (box.hidden) return;
    box.appendChild(el('div', null, 'Aucune mesure reçue depuis ' + duration(r.silentForSeconds) +
      ' alors que le pont est abonné aux mesures. Causes probables :'));
    var causes = el('ul');
    causes.appendChild(el('li', null, r.certificateCn
      ? 'l’ACL du broker ne permet pas au certificat du pont (CN « ' + r.certificateCn + ' ») de lire serre/+/bac/+ ;'
      : 'l’ACL du broker ne permet pas à l’identité du pont de lire serre/+/bac/+ ;'));
    causes.appendChild(el('li', null, 'les appareils sont éteints ou ne peuvent pas se connecter au broker (Wi-Fi, certificats).'));
    box.appendChild(causes);
  }

  function renderBacs(s, today) {
    var list = $('bacs-list');
    clear(list);
    renderReadingsSilence(s.readings);
    var v = s.bacs;
    if (!v || v.unavailable) {
      $('bacs-count').textContent = '';
      $('bacs-note').textContent = '';
      list.appendChild(el('p', 'muted', 'Indisponible : ' + (v ? v.unavailable : 'surveillance des capteurs inactive')));
      return;
    }
    $('bacs-count').textContent = plural(v.serres.length, 'serre', 'serres') + ' · ' +
      plural(v.sensors, 'capteur suivi', 'capteurs suivis') + ' · ' +
      plural(v.silent, 'silencieux', 'silencieux') + ' · ' +
      plural(v.bacsWithoutReading, 'bac sans mesure', 'bacs sans mesure');
    if (!v.serres.length) list.appendChild(el('p', 'muted', 'Aucun bac dans la base de données.'));
    // Few serres: all open; many: only those with a silent sensor, the others one line each.
    var openByDefault = v.serres.length <= 4;
    v.serres.forEach(function (serre) { list.appendChild(serreBlock(serre, openByDefault, today)); });
    $('bacs-note').textContent = 'Un capteur est silencieux (en rouge) sans mesure depuis plus de ' +
      duration(v.silenceAfterSeconds) + '.';
  }

  /** A bridge serving several schools: one line per school; each school's bacs, controllers and errors are in its web app. */
  function renderSchools(s, today) {
    var several = Boolean(s.schools);
    $('schools').hidden = !several;
    ['bacs', 'controllers', 'errors'].forEach(function (id) { $(id).hidden = several; });
    if (!several) return;
    var body = $('schools-body');
    clear(body);
    var down = schoolsWithoutDatabase(s);
    var served = s.schools.filter(function (e) { return e.subscribed; }).length;
    $('schools-count').textContent = plural(served, 'école', 'écoles') + (down.length ? ' · ' + plural(down.length, 'base indisponible', 'bases indisponibles') : '');
    $('database-detail').textContent = 'Bases des écoles : ' + nf.format(served - down.length) + ' sur ' + nf.format(served) + ' reçoivent les écritures.';
    s.schools.forEach(function (e) {
      var tr = el('tr');
      tr.setAttribute('data-ecole', e.ecole);
      var who = el('div');
      who.appendChild(el('strong', 'mono', e.ecole));
      if (!e.subscribed) who.appendChild(el('div', 'muted', 'retirée de SCHOOLS : fin de l’écriture de sa file'));
      tr.appendChild(cell('École', who));
      var db = el('div');
      var badge = el('span');
      var p = e.database.problem;
      setBadge(badge, e.database.connected ? 'ok' : 'ko', e.database.connected ? 'Connectée' : (p && p.fix ? 'Écritures suspendues' : 'Déconnectée'));
      db.appendChild(badge);
      if (p) db.appendChild(el('div', 'alert problem', p.cause + (p.aFaire || p.fix ? ' — à faire : ' + (p.aFaire || p.fix) : '')));
      var r = e.recovery;
      if (r) db.appendChild(el('div', r.lost ? 'alert problem' : 'muted', r.kind === 'refill'
        ? 'Base revenue en arrière le ' + r.atText + ' : ' + nf.format(r.writtenAgain) + ' sur ' + plural(r.toWriteAgain, 'message réécrit', 'messages réécrits') +
          (r.lost ? ' ; ceux reçus entre ' + (r.lost.from || 'le début') + ' et ' + (r.lost.to || '?') + ' manquent (JOURNAL_RETAIN)' : '')
        : 'File locale plus ancienne que la base le ' + r.atText + ' : messages renumérotés puis écrits.'));
      tr.appendChild(cell('Base de données', db));
      var j = e.journal;
      tr.appendChild(cell('En attente', j.entries > 0 ? plural(j.entries, 'message', 'messages') + ' depuis ' + duration(j.oldestAgeSeconds) : 'rien'));
      tr.appendChild(cell('Dernier message', e.lastReceivedAt ? frDateTime(e.lastReceivedAt, today) + ' (il y a ' + duration(e.lastReceivedAgeSeconds) + ')' : 'aucun depuis le démarrage'));
      tr.appendChild(cell('Lignes écrites', nf.format(e.rowsWritten)));
      body.appendChild(tr);
    });
  }

  function schoolsWithoutDatabase(s) {
    if (!s.schools) return [];
    return s.schools.filter(function (e) { return e.subscribed && !e.database.connected; }).map(function (e) { return e.ecole; });
  }

  function renderOverall(s) {
    var problems = [];
    if (!s.broker.connected) problems.push('broker MQTT déconnecté');
    if (s.dbProblem && s.dbProblem.fix) problems.push('écritures en base suspendues (voir « Base de données »)');
    else if (!s.database.connected) problems.push('base de données déconnectée');
    if (s.journal.full || !s.journal.underBudget) problems.push("file d'attente locale pleine");
    if (s.readings && s.readings.silent) problems.push('aucune mesure reçue depuis ' + duration(s.readings.silentForSeconds));
    var silent = s.bacs ? s.bacs.silent : 0;
    var schoolsDown = schoolsWithoutDatabase(s);
    var banner = $('overall');
    if (problems.length) {
      banner.className = 'banner ko';
      banner.textContent = 'Problème : ' + problems.join(', ') + '.';
      setFavicon('#c62828');
    } else if (schoolsDown.length) {
      banner.className = 'banner warn';
      banner.textContent = 'Attention : base de données indisponible pour ' + schoolsDown.join(', ') + ' (voir « Écoles ») ; leurs messages attendent dans la file locale.';
      setFavicon('#e0a000');
    } else if (silent) {
      banner.className = 'banner warn';
      banner.textContent = 'Attention : ' + plural(silent, 'capteur silencieux', 'capteurs silencieux') + ' (voir « Bacs »).';
      setFavicon('#e0a000');
    } else {
      banner.className = 'banner ok';
      banner.textContent = 'Tout fonctionne : les mesures arrivent dans la base.';
      setFavicon('#2e7d32');
    }
  }

  function setFavicon(color) {
    var icon = $('favicon');
    var href = 'data:image/svg+xml,' + encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="' + color + '"/></svg>');
    if (icon.getAttribute('href') !== href) icon.setAttribute('href', href);
  }

  function render(s) {
    var today = s.generatedAt.slice(0, 10);
    lastSuccess = s.generatedAt;
    document.body.classList.remove('stale');
    renderOverall(s);
    renderConnection('broker', s.broker, 'Connecté', 'Déconnecté');
    renderConnection('database', s.database, 'Connectée', 'Déconnectée');
    renderDbProblem(s.dbProblem);
    renderClock(s.clock);
    renderJournal(s.journal);
    renderRecovery(s.recovery);
    renderSchools(s, today);
    renderBacs(s, today);
    renderChart(s.throughput);
    renderControllers(s, today);
    renderErrors(s, today);
    $('meta').textContent = 'Client MQTT « ' + s.clientId + ' » · en service depuis ' + duration(s.uptimeSeconds) +
      ' · mis à jour ' + frDateTime(s.generatedAt, today);
  }

  function unreachable(err) {
    document.body.classList.add('stale');
    var banner = $('overall');
    banner.className = 'banner ko';
    banner.textContent = 'Le pont ne répond pas (' + (err && err.message ? err.message : 'erreur réseau') + ')' +
      (lastSuccess ? ' ; les informations ci-dessous datent de ' + lastSuccess.slice(11) : '') +
      '. Nouvel essai dans ' + REFRESH_MS / 1000 + ' s.';
    setFavicon('#9e9e9e');
  }

  function refresh() {
    fetch('/api/status', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(render, unreachable)
      // A drawing bug must be visible in the console, not passed off as the bridge being down.
      .catch(function (err) { console.error('Affichage du statut impossible', err); })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  refresh();
})();
`;
