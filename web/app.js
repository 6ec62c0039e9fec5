/* hotline operator console: one page, no framework, no build step.
 * Talks to the station's JSON API (docs/console.md) and listens to its
 * Server-Sent Events. Every string a person reads comes from STR, so the
 * console reads the same in English and Chinese. Text from the other side
 * is untrusted: it only ever goes into the page as textContent. */
'use strict';

/* ---------- strings ---------- */

const STR = {
  en: {
    app: 'hotline', board: 'Board', inbox: 'Inbox', outbox: 'Sent', compose: 'Compose',
    transcript: 'Transcript', notices: 'Notices', message: 'Message', login: 'Log in',
    logout: 'Log out', name: 'Name', password: 'Password', language: 'Language',
    live: 'live', offline: 'reconnecting…', role_watch: 'watch officer',
    role_duty: 'duty officer', role_admin: 'admin',
    bad_login: 'Wrong name or password.',
    rate_limited: 'Too many failed attempts: wait a minute and try again.',
    err_network: 'The station does not answer.',
    forbidden: 'Your role cannot do this.',
    csrf: 'Your session is stale: log in again.',
    unauthorized: 'Your session has ended: log in again.',
    loading: 'Loading…',
    // states (same words and colours everywhere)
    st_up: 'up', st_degraded: 'degraded', st_down: 'down', st_suspended: 'suspended',
    st_unknown: 'unknown', st_open: 'open',
    st_queued: 'queued', st_sent: 'sent', st_delivered: 'delivered',
    st_acknowledged: 'acknowledged', st_refused: 'refused', st_unacknowledged: 'unacknowledged',
    st_received: 'received',
    legend: 'Up: linked, every address works. Degraded: linked, an address failed. Down: no link (a fault). Suspended: a decision by one side, with a signed reason.',
    pr_flash: 'FLASH', pr_immediate: 'IMMEDIATE', pr_priority: 'PRIORITY', pr_routine: 'ROUTINE',
    // board
    station_clock: '{s} clock', peer_clock: '{s} clock (estimated)', not_running: 'The station daemon is not running: nothing is sent or received.',
    no_peers: 'No peer is pinned yet.',
    link_in_use: 'Link in use', rtt: 'Round trip', last_contact: 'Last contact', up_since: 'Up since',
    never: 'never', address: 'Address', state: 'State', last_error: 'Last error',
    last_test: 'Last link test', last_ok_test: 'Last successful test', test_ok: 'ok',
    test_failed: 'FAILED', not_tested: 'not tested yet', in_use: 'in use',
    channels: 'Channels', channel: 'Channel', links: 'Addresses',
    suspended_by: 'suspended by {by} ({op}) since {t}: {reason}',
    no_suspend: 'never suspended', codebook: 'Codebook', cb_agreed: 'same on both sides',
    cb_mismatch: 'MISMATCH: codebook messages are refused', cb_unknown: 'not compared yet',
    checkpoints: 'Checkpoints', ck_last: 'last {st} at {t}', ck_none: 'none yet',
    ck_mismatch: '{n} MISMATCH(ES): the two records disagree',
    ck_agreed: 'agreed', ck_waiting: 'waiting for the peer', ck_mismatched: 'MISMATCH', outbound: 'we dialled',
    ago: '{d} ago', clock_skew: 'differs from ours by {d}',
    skew_how: 'Estimated from the messages received lately: each carries the time it was created on the sender\'s clock.',
    no_skew: 'not known until a message arrives from it',
    // inbox
    from: 'From', to: 'To', precedence: 'Precedence', text: 'Text', received: 'Received',
    deadline: 'Deadline', ack: 'Acknowledge', acked_by: 'acknowledged by {n}',
    show_all: 'Show acknowledged and refused too', nothing_waiting: 'Nothing waiting.',
    nothing_sent: 'Nothing sent yet.', created: 'Created', left: '{d} left',
    overdue_by: 'overdue by {d}', no_deadline: '—',
    // compose
    peer: 'Peer', mode_text: 'Free text', mode_two: 'English and Chinese',
    mode_code: 'Codebook', text_en: 'English', text_zh: 'Chinese', original: 'Original',
    template: 'Template', send: 'Send', sent_ok: 'Stored and queued:',
    required: 'required', optional: 'optional', example: 'e.g. {x}',
    fix_fields: 'Correct the fields marked in red.', no_codebook: 'This station has no codebook.',
    prec_not_allowed: 'Your role sends only PRIORITY and ROUTINE.',
    chan_suspended: '(suspended)', choose: '— choose —', enter_text: 'Write the message.',
    enter_both: 'Write both texts.',
    // field validation
    v_missing: 'Required.', v_text: 'One line of text, no control characters.',
    v_long: 'At most {n} characters (now {m}).', v_int: 'A whole number, e.g. {x}.',
    v_range: 'From {min} to {max}.', v_time: 'A UTC time like 2026-12-01T06:00Z.',
    v_date: 'Not a real date and time.', v_window: 'START/END, two UTC times, e.g. {x}.',
    v_order: 'The end must be after the start.',
    v_pos: 'LAT,LON in decimal degrees (at most 6 decimals), e.g. {x}.',
    v_lat: 'Latitude from -90 to 90.', v_lon: 'Longitude from -180 to 180.',
    v_area: 'circle:LAT,LON,RADIUS_KM or polygon:LAT,LON;LAT,LON;LAT,LON, e.g. {x}.',
    v_radius: 'The radius is more than 0 and at most 20000 km (3 decimals).',
    v_vertices: 'A polygon has 3 to 64 vertices, none equal to the next, the last not equal to the first.',
    v_enum: 'One of the listed values.', v_msgid: '12 hexadecimal characters, as the inbox shows.',
    // message
    id: 'Id', kind: 'Kind', history: 'History', at: 'Time', detail: 'Detail', seq: 'Seq',
    f_sent: 'Sent', f_delivered: 'Delivered', f_acknowledged: 'Acknowledged',
    hash: 'Hash', size: 'Size', media: 'Media type', refused_reason: 'Refusal',
    attachment: 'attachment: {t}, {n} bytes', download: 'Download', translation: 'translation', is_original: 'original',
    both_langs: 'Show both languages', one_lang: 'Show one language',
    k_message: 'message', k_acknowledgment: 'acknowledgment', k_suspension: 'suspension notice',
    k_resumption: 'resumption notice', k_talks: 'talks', dir_out: 'to {p}', dir_in: 'from {p}',
    no_message: 'No such message.', operator: 'Operator',
    // transcript
    search: 'Search', verified: 'Verified: both chains and every signature check.',
    not_verified: 'Verification FAILED', no_events: 'No events.', direction: 'Direction',
    // notices
    reason: 'Reason', suspend: 'Suspend', resume: 'Resume', need_reason: 'Give the reason: the peer reads it.',
    only_duty: 'Only duty officers and admins suspend or resume channels.',
    by_us: 'by us', by_peer: 'by {p}: only {p} can resume it', cannot_suspend: 'This channel can never be suspended.',
    notice_ok: 'Notice {id} stored; it travels to the peer like a message.',
    notices_help: 'A suspension is a decision, not a fault: the peer sees it at once with your reason, and every message on the channel is refused, both ways, until the side that suspended it resumes it.',
  },
  zh: {
    app: '热线', board: '总览', inbox: '收件箱', outbox: '已发送', compose: '撰写',
    transcript: '记录', notices: '通告', message: '电文', login: '登录',
    logout: '退出', name: '姓名', password: '密码', language: '语言',
    live: '实时', offline: '正在重新连接…', role_watch: '值班员',
    role_duty: '值班军官', role_admin: '管理员',
    bad_login: '姓名或密码错误。',
    rate_limited: '失败次数过多：请一分钟后再试。',
    err_network: '本站无应答。',
    forbidden: '您的角色无权执行此操作。',
    csrf: '会话已失效：请重新登录。',
    unauthorized: '会话已结束：请重新登录。',
    loading: '加载中…',
    st_up: '正常', st_degraded: '降级', st_down: '中断', st_suspended: '暂停',
    st_unknown: '未知', st_open: '开放',
    st_queued: '排队', st_sent: '已发出', st_delivered: '已送达',
    st_acknowledged: '已确认', st_refused: '被拒收', st_unacknowledged: '未确认',
    st_received: '已收到',
    legend: '正常：已连通，所有地址可用。降级：已连通，有地址失败。中断：无连接（故障）。暂停：一方的决定，附签名理由。',
    pr_flash: '特急', pr_immediate: '加急', pr_priority: '优先', pr_routine: '常规',
    station_clock: '{s} 时钟', peer_clock: '{s} 时钟（估计）', not_running: '本站守护进程未运行：无法收发。',
    no_peers: '尚未固定任何对端。',
    link_in_use: '当前线路', rtt: '往返时间', last_contact: '最近联系', up_since: '连通自',
    never: '从未', address: '地址', state: '状态', last_error: '最近错误',
    last_test: '最近线路测试', last_ok_test: '最近成功测试', test_ok: '成功',
    test_failed: '失败', not_tested: '尚未测试', in_use: '使用中',
    channels: '频道', channel: '频道', links: '地址',
    suspended_by: '由 {by}（{op}）自 {t} 暂停：{reason}',
    no_suspend: '不可暂停', codebook: '代码本', cb_agreed: '双方一致',
    cb_mismatch: '不一致：代码电文将被拒收', cb_unknown: '尚未比较',
    checkpoints: '检查点', ck_last: '最近一次 {st}，{t}', ck_none: '暂无',
    ck_mismatch: '{n} 次不一致：双方记录不符',
    ck_agreed: '一致', ck_waiting: '等待对方', ck_mismatched: '不一致', outbound: '本站拨出',
    ago: '{d}前', clock_skew: '与本站相差 {d}',
    skew_how: '根据最近收到的电文估计：每份电文都带有其在发送方时钟上的创建时间。',
    no_skew: '收到对方电文之前未知',
    from: '发自', to: '发往', precedence: '等级', text: '内容', received: '收到时间',
    deadline: '确认时限', ack: '确认', acked_by: '已由 {n} 确认',
    show_all: '同时显示已确认和被拒收的', nothing_waiting: '没有待处理电文。',
    nothing_sent: '尚未发送任何电文。', created: '创建时间', left: '剩余 {d}',
    overdue_by: '已超时 {d}', no_deadline: '—',
    peer: '对端', mode_text: '自由文本', mode_two: '中英文对照',
    mode_code: '代码本', text_en: '英文', text_zh: '中文', original: '原文',
    template: '模板', send: '发送', sent_ok: '已存储并排队：',
    required: '必填', optional: '选填', example: '例如 {x}',
    fix_fields: '请更正标红的字段。', no_codebook: '本站没有代码本。',
    prec_not_allowed: '您的角色只能发送优先和常规电文。',
    chan_suspended: '（暂停）', choose: '— 请选择 —', enter_text: '请填写电文。',
    enter_both: '请填写两种文本。',
    v_missing: '必填。', v_text: '单行文本，不含控制字符。',
    v_long: '最多 {n} 个字符（现 {m} 个）。', v_int: '整数，例如 {x}。',
    v_range: '范围 {min} 至 {max}。', v_time: '协调世界时，如 2026-12-01T06:00Z。',
    v_date: '日期或时间不存在。', v_window: '起/止：两个协调世界时，例如 {x}。',
    v_order: '结束时间须晚于开始时间。',
    v_pos: '纬度,经度（十进制度，最多6位小数），例如 {x}。',
    v_lat: '纬度范围 -90 至 90。', v_lon: '经度范围 -180 至 180。',
    v_area: 'circle:纬度,经度,半径公里 或 polygon:纬度,经度;纬度,经度;纬度,经度，例如 {x}。',
    v_radius: '半径大于0且不超过20000公里（最多3位小数）。',
    v_vertices: '多边形有3至64个顶点，相邻顶点不同，末点不同于首点。',
    v_enum: '须为所列值之一。', v_msgid: '12位十六进制字符，见收件箱。',
    id: '编号', kind: '类别', history: '历史', at: '时间', detail: '说明', seq: '序号',
    f_sent: '发出时间', f_delivered: '送达时间', f_acknowledged: '确认时间',
    hash: '哈希', size: '大小', media: '媒体类型', refused_reason: '拒收理由',
    attachment: '附件：{t}，{n} 字节', download: '下载', translation: '译文', is_original: '原文',
    both_langs: '显示两种语言', one_lang: '只显示一种语言',
    k_message: '电文', k_acknowledgment: '确认', k_suspension: '暂停通告',
    k_resumption: '恢复通告', k_talks: '会谈', dir_out: '发往 {p}', dir_in: '发自 {p}',
    no_message: '无此电文。', operator: '操作员',
    search: '搜索', verified: '已验证：两条链及所有签名均无误。',
    not_verified: '验证失败', no_events: '无记录。', direction: '方向',
    reason: '理由', suspend: '暂停', resume: '恢复', need_reason: '请填写理由：对方会看到。',
    only_duty: '只有值班军官和管理员可以暂停或恢复频道。',
    by_us: '由本站', by_peer: '由 {p}：只有 {p} 可以恢复', cannot_suspend: '此频道不可暂停。',
    notice_ok: '通告 {id} 已存储；它像电文一样发往对端。',
    notices_help: '暂停是决定而非故障：对端会立即看到暂停及您的理由；在暂停方恢复之前，该频道上双向的所有电文都将被拒收。',
  },
};

const S = {
  me: null, lang: 'en', status: null, offset: 0, inbox: [], outbox: [], codebook: null,
  es: null, retry: null, page: null, arg: null, onEvent: null,
};
const PREC = ['flash', 'immediate', 'priority', 'routine'];
const CODE_MEDIA = 'application/vnd.hotline.code+json';
const PAR_MEDIA = 'application/vnd.hotline.parallel+json';

function t(key, vars) {
  let s = (STR[S.lang] && STR[S.lang][key]) || STR.en[key] || key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}
const bi = (o) => (o && typeof o === 'object' ? o[S.lang] || o.en || '' : o || '');

/* ---------- DOM ---------- */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, root) => (root || document).querySelector(sel);

/* A state badge: the same colour for the same word everywhere. */
function badge(state, extra) {
  return h('span', { class: 'badge st-' + state, 'data-state': state }, t('st_' + state), extra || '');
}
function precBadge(p) {
  return h('span', { class: 'prec pr-' + p, 'data-prec': p }, t('pr_' + p));
}

/* ---------- time ---------- */

const now = () => Date.now() + S.offset; // the station's clock, as last read
function fmtTime(iso) {
  if (!iso) return t('never');
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
function fmtDur(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh}:${p(mm)}:${p(ss)}`;
  return `${mm}:${p(ss)}`;
}
function fmtAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.floor(s / 60) + ' min';
  if (s < 172800) return Math.floor(s / 3600) + ' h';
  return Math.floor(s / 86400) + ' d';
}
/* Live elements, updated every half second by tick(). */
function clockEl(offsetMs, label) {
  return h('span', { class: 'clock', 'data-clock': String(offsetMs || 0), title: label || '' }, '');
}
function agoEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, t('never'));
  return h('span', { title: iso }, fmtTime(iso), ' ', h('span', { class: 'muted', 'data-ago': iso }));
}
function countdownEl(m) {
  if (!m.deadline) return h('span', { class: 'muted' }, t('no_deadline'));
  const open = m.state === 'unacknowledged' || ['queued', 'sent', 'delivered'].includes(m.state);
  if (!open) return h('span', { class: 'muted', title: m.deadline }, fmtTime(m.deadline));
  return h('span', { class: 'countdown', 'data-deadline': m.deadline, title: m.deadline }, '');
}
function tick() {
  const n = now();
  for (const el of document.querySelectorAll('[data-clock]')) {
    el.textContent = fmtTime(new Date(n + Number(el.dataset.clock)).toISOString());
  }
  for (const el of document.querySelectorAll('[data-ago]')) {
    el.textContent = '(' + t('ago', { d: fmtAgo(n - Date.parse(el.dataset.ago)) }) + ')';
  }
  for (const el of document.querySelectorAll('[data-deadline]')) {
    const left = Date.parse(el.dataset.deadline) - n;
    el.textContent = left >= 0 ? t('left', { d: fmtDur(left) }) : t('overdue_by', { d: fmtDur(left) });
    el.classList.toggle('late', left < 0);
    const row = el.closest('tr');
    if (row) row.classList.toggle('overdue', left < 0);
  }
}

/* ---------- API ---------- */

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || 'HTTP ' + status);
    this.status = status;
    this.code = (body && body.error) || 'http';
    this.field = body && body.field;
  }
}

async function api(path, body) {
  const opt = { credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opt.method = 'POST';
    opt.headers['Content-Type'] = 'application/json';
    if (S.me) opt.headers['X-CSRF-Token'] = S.me.csrf;
    opt.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opt);
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: t('err_network') });
  }
  let j = null;
  try {
    j = await r.json();
  } catch (e) {
    /* not JSON: reported below */
  }
  if (!r.ok || !j || j.ok === false) {
    const err = new ApiError(r.status, j);
    if (r.status === 401 && path !== '/api/login') loggedOut();
    throw err;
  }
  return j;
}
/* What to tell the operator about a failed call. */
function errText(e) {
  if (['forbidden', 'csrf', 'unauthorized', 'bad_login', 'rate_limited', 'network'].includes(e.code)) {
    return t(e.code) + (e.code === 'forbidden' && e.message ? ' (' + e.message + ')' : '');
  }
  return e.message;
}

async function loadStatus() {
  const st = await api('/api/status');
  if (st.now) S.offset = Date.parse(st.now) - Date.now();
  S.status = st;
  return st;
}
async function loadInbox(all) {
  const r = await api('/api/inbox' + (all ? '?all=1' : ''));
  const msgs = sortInbox(r.messages || []);
  if (!all) S.inbox = msgs;
  updateNav();
  return msgs;
}
async function loadCodebook() {
  if (!S.codebook) {
    const r = await api('/api/codebook');
    S.codebook = r.codebook || null;
  }
  return S.codebook;
}
function sortInbox(msgs) {
  const open = (m) => (m.state === 'unacknowledged' ? 0 : 1);
  return msgs.slice().sort((a, b) => open(a) - open(b) ||
    PREC.indexOf(a.precedence) - PREC.indexOf(b.precedence) ||
    String(a.created).localeCompare(String(b.created)) || (a.seq || 0) - (b.seq || 0));
}

/* ---------- message content ---------- */

function b64text(b64) {
  const bin = atob(b64 || '');
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
function template(code) {
  return S.codebook && (S.codebook.templates || []).find((x) => x.code === code);
}
/* What a message says, for a person: {text} or {en, zh, original}. */
function content(m) {
  if (m.kind === 'acknowledgment') return { text: t('acked_by', { n: m.operator || '' }) + ' → ' + (m.acknowledges || '') };
  if (m.rendered && (m.rendered.en || m.rendered.zh)) {
    if (m.media_type === PAR_MEDIA) return parallel(m) || { text: m.rendered[S.lang] };
    return { text: m.rendered[S.lang] || m.rendered.en, other: m.rendered[S.lang === 'en' ? 'zh' : 'en'] };
  }
  if (typeof m.text === 'string') return { text: m.text };
  try {
    if (m.media_type === PAR_MEDIA) return parallel(m);
    if (m.media_type === CODE_MEDIA) {
      const b = JSON.parse(b64text(m.body_base64));
      const tp = template(b.code);
      const lines = Object.entries(b.fields || {}).map(([k, v]) => {
        const f = tp && tp.fields.find((x) => x.name === k);
        return (f ? bi(f.label) : k) + ': ' + v;
      });
      return { text: (tp ? bi(tp.title) : b.code) + ' [' + b.code + ']\n' + lines.join('\n') };
    }
  } catch (e) {
    /* fall through: shown as an attachment */
  }
  return { text: t('attachment', { t: m.media_type, n: m.size }), attachment: true };
}
function parallel(m) {
  if (!m.body_base64) return null;
  const b = JSON.parse(b64text(m.body_base64));
  return { en: b.en, zh: b.zh, original: b.original };
}
function preview(m) {
  const c = content(m);
  // Lists carry parallel texts rendered as "[en, original] TEXT": the text is enough there.
  const s = (c.text !== undefined ? c.text : S.lang === 'zh' ? c.zh : c.en).replace(/^\[(en|zh), (original|translation)\] /, '');
  return s.length > 140 ? s.slice(0, 137) + '…' : s;
}
function contentEl(m, both) {
  const c = content(m);
  if (c.text === undefined) {
    const side = (l) => h('div', { class: 'par', lang: l === 'zh' ? 'zh-Hans' : 'en' },
      h('div', { class: 'muted' }, t('text_' + l), ' · ', c.original === l ? t('is_original') : t('translation')),
      h('pre', { class: 'body' }, c[l]));
    const order = S.lang === 'zh' ? ['zh', 'en'] : ['en', 'zh'];
    return h('div', { class: 'two' }, order.map(side));
  }
  const out = [h('pre', { class: 'body' }, c.text)];
  if (both && c.other) out.push(h('pre', { class: 'body other' }, c.other));
  if (c.attachment && m.body_base64) {
    out.push(h('button', { onclick: () => {
      const bytes = Uint8Array.from(atob(m.body_base64), (x) => x.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: m.media_type }));
      h('a', { download: m.id, href: url }).click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } }, t('download')));
  }
  return h('div', {}, out);
}

/* ---------- roles ---------- */

const role = () => (S.me ? S.me.role : 'watch');
const canUrgent = () => role() === 'duty' || role() === 'admin';
const canSuspend = canUrgent;

/* ---------- shell: header, routing, live updates ---------- */

const ROUTES = {
  board: pageBoard, inbox: pageInbox, outbox: pageOutbox, compose: pageCompose,
  message: pageMessage, transcript: pageTranscript, notices: pageNotices, login: pageLogin,
};
const NAV = ['board', 'inbox', 'outbox', 'compose', 'transcript', 'notices'];

function header() {
  const top = $('#top');
  top.replaceChildren();
  const langSel = h('select', { id: 'lang', 'aria-label': t('language'), onchange: (e) => setLanguage(e.target.value) },
    h('option', { value: 'en' }, 'English'), h('option', { value: 'zh' }, '中文'));
  langSel.value = S.lang;
  if (!S.me) {
    top.append(h('span', { class: 'brand' }, t('app')), h('span', { class: 'spacer' }), langSel);
    return;
  }
  top.append(
    h('span', { class: 'brand' }, t('app'), ' · ', S.me.station || ''),
    h('nav', {}, NAV.map((p) => h('a', { href: '#/' + p, id: 'nav-' + p, class: S.page === p ? 'on' : '' },
      t(p), p === 'inbox' ? h('span', { id: 'inbox-count', class: 'count' }) : null))),
    h('span', { class: 'spacer' }),
    h('span', { id: 'live', class: 'live' }),
    h('span', { class: 'who' }, S.me.operator, ' · ', t('role_' + S.me.role)),
    langSel,
    h('button', { id: 'logout', onclick: logout }, t('logout')));
  setLive(!!(S.es && S.es.readyState === 1));
  updateNav();
}
function updateNav() {
  const el = $('#inbox-count');
  if (!el) return;
  const n = S.inbox.filter((m) => m.state === 'unacknowledged').length;
  const late = S.inbox.some((m) => m.state === 'unacknowledged' && m.deadline && Date.parse(m.deadline) < now());
  el.textContent = n ? String(n) : '';
  el.classList.toggle('late', late);
}
function setLive(on) {
  const el = $('#live');
  if (!el) return;
  el.textContent = on ? t('live') : t('offline');
  el.classList.toggle('on', on);
}

async function setLanguage(lang) {
  S.lang = lang;
  localStorage.setItem('hl_lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
  if (S.me) {
    try {
      await api('/api/language', { language: lang });
      S.me.language = lang;
    } catch (e) {
      /* shown in the page below only if it matters: the switch still applies here */
    }
  }
  header();
  route();
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  let page = parts[0] || 'board';
  const arg = parts.slice(1).map(decodeURIComponent).join('/');
  if (!S.me) {
    if (page !== 'login') S.after = location.hash;
    page = 'login';
  }
  else if (!ROUTES[page] || page === 'login') page = 'board';
  S.page = page;
  S.arg = arg;
  S.onEvent = null;
  for (const a of document.querySelectorAll('#top nav a')) a.classList.toggle('on', a.id === 'nav-' + page);
  // Each visit renders into its own element: a slow answer for a page the
  // operator already left lands in a detached element, never on screen.
  const view = h('div', { class: 'view', id: 'page-' + page }, h('p', { class: 'muted loading' }, t('loading')));
  $('#main').replaceChildren(view);
  document.title = t(page) + ' · ' + t('app') + (S.me ? ' · ' + S.me.station : '');
  ROUTES[page](view, arg).catch((e) => view.replaceChildren(h('p', { class: 'error' }, errText(e))));
}

/* A page's redraw, never two at once: a call while one runs makes one more
 * run after it, so the last answer on screen is the newest. */
function serial(fn) {
  let running = null, again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

/* The page's reaction to live events, if the page is still the one shown. */
function listen(view, fn) {
  if (view.isConnected) S.onEvent = fn;
}

/* One reload per burst of events (several may come within a few ms); the
 * page's handler gets the set of kinds that came. */
let pending = null;
const kinds = new Set();
function onEvent(kind) {
  if (kind === 'message') loadInbox(false).catch(() => {});
  if (!S.onEvent) return;
  kinds.add(kind);
  clearTimeout(pending);
  const fn = S.onEvent;
  pending = setTimeout(() => {
    const ks = new Set(kinds);
    kinds.clear();
    if (S.onEvent === fn) fn(ks);
  }, 50);
}
function connectEvents() {
  if (S.es) S.es.close();
  clearTimeout(S.retry);
  const es = new EventSource('/api/events');
  S.es = es;
  es.onopen = () => {
    setLive(true);
    onEvent('message'); // anything that changed before the stream was open
    onEvent('status');
  };
  for (const k of ['message', 'link', 'channel', 'status']) es.addEventListener(k, () => onEvent(k));
  es.onerror = () => {
    es.close();
    if (S.es !== es) return; // replaced or logged out meanwhile
    S.es = null;
    setLive(false);
    reconnect();
  };
}
/* Every second until the station answers: the same session goes on live;
 * a session the station no longer knows (say it restarted) means logging in
 * again (api() takes care of that on the 401). */
function reconnect() {
  clearTimeout(S.retry);
  S.retry = setTimeout(async () => {
    if (!S.me) return;
    try {
      await api('/api/me');
      if (S.me) connectEvents();
    } catch (e) {
      if (e.status !== 401) reconnect();
    }
  }, 1000);
}

function loggedIn(me) {
  S.me = me;
  if (me.language) S.lang = me.language;
  document.documentElement.lang = S.lang === 'zh' ? 'zh-Hans' : 'en';
  header();
  connectEvents();
  loadInbox(false).catch(() => {});
  loadCodebook().catch(() => {});
}
function loggedOut() {
  if (!S.me) return;
  S.me = null;
  if (S.es) S.es.close();
  S.es = null;
  clearTimeout(S.retry);
  S.codebook = null;
  header();
  if (!location.hash.startsWith('#/login')) {
    S.after = location.hash; // back there after the next login
    location.hash = '#/login';
  } else route();
}
async function logout() {
  try {
    await api('/api/logout', {});
  } catch (e) {
    /* logged out either way */
  }
  loggedOut();
}

/* ---------- Login ---------- */

async function pageLogin(main) {
  const err = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const name = h('input', { id: 'login-name', autocomplete: 'username', required: true });
  const pw = h('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card login', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const me = await api('/api/login', { name: name.value, password: pw.value });
      pw.value = '';
      loggedIn(me);
      const next = S.after || '#/board';
      S.after = null;
      if (location.hash === next) route();
      else location.hash = next;
    } catch (x) {
      err.textContent = errText(x);
    }
  } },
  h('h1', {}, t('login')),
  h('label', {}, t('name'), name), h('label', {}, t('password'), pw),
  h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, t('login')), err);
  main.replaceChildren(form);
  name.focus();
}

/* ---------- Board ---------- */

async function pageBoard(main) {
  let skewStale = true;
  const draw = serial(async () => {
    const [st] = await Promise.all([loadStatus(), skewStale ? loadSkew() : null]);
    skewStale = false;
    main.replaceChildren(boardView(st));
    tick();
  });
  await draw();
  listen(main, (k) => {
    if (k.has('message')) skewStale = true;
    draw().catch(() => {});
  });
}
/* The peer's clock, estimated from the messages it sent lately: each was
 * created on its clock and stored on ours, so created - received is the
 * offset between the clocks less the transit time; the largest of the last
 * 20 is the one that spent least time in transit. */
async function loadSkew() {
  const r = await api('/api/inbox?all=1').catch(() => ({ messages: [] }));
  const by = {};
  for (const m of r.messages || []) if (m.received && m.created) (by[m.peer] = by[m.peer] || []).push(m);
  S.skew = {};
  for (const [peer, ms] of Object.entries(by)) {
    ms.sort((a, b) => Date.parse(b.received) - Date.parse(a.received));
    S.skew[peer] = Math.max(...ms.slice(0, 20).map((m) => Date.parse(m.created) - Date.parse(m.received)));
  }
}
function boardView(st) {
  const out = [h('div', { class: 'clocks' },
    h('span', {}, t('station_clock', { s: st.station }), ': ', clockEl(0)),
    h('p', { class: 'legend' }, ['up', 'degraded', 'down', 'suspended'].map((s) => badge(s)), ' ', t('legend')))];
  if (!st.running) out.push(h('p', { class: 'alarm' }, t('not_running')));
  if (!(st.peers || []).length) out.push(h('p', { class: 'muted' }, t('no_peers')));
  for (const p of st.peers || []) out.push(peerCard(st, p));
  return h('div', { id: 'board' }, out);
}
/* The peer's clock: as the station reports it (clock_offset_ms), else estimated (loadSkew). */
function peerOffset(p) {
  if (typeof p.clock_offset_ms === 'number') return p.clock_offset_ms;
  return S.skew && p.name in S.skew ? S.skew[p.name] : null;
}
function peerCard(st, p) {
  const off = peerOffset(p);
  const test = (l) => {
    if (!l.last_test) return h('span', { class: 'muted' }, t('not_tested'));
    const lt = l.last_test;
    return h('span', { class: lt.ok ? '' : 'bad' }, lt.ok ? t('test_ok') : t('test_failed'), ' ', agoEl(lt.at),
      lt.ok && lt.rtt_ms != null ? ' · ' + lt.rtt_ms.toFixed(1) + ' ms' : '', lt.error ? ' · ' + lt.error : '');
  };
  const cb = p.codebook;
  const ck = p.checkpoints;
  return h('section', { class: 'card peer', 'data-peer': p.name },
    h('h2', {}, p.name, ' ', badge(p.state)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('link_in_use')), h('dd', {}, p.link || '—', p.direction === 'outbound' ? ' (' + t('outbound') + ')' : ''),
      h('dt', {}, t('rtt')), h('dd', {}, p.rtt_ms != null ? p.rtt_ms.toFixed(2) + ' ms' : '—'),
      h('dt', {}, t('last_contact')), h('dd', {}, agoEl(p.last_contact)),
      h('dt', {}, t('up_since')), h('dd', {}, p.up_since ? fmtTime(p.up_since) : '—'),
      h('dt', {}, t('station_clock', { s: st.station })), h('dd', {}, clockEl(0)),
      h('dt', {}, t('peer_clock', { s: p.name })), h('dd', { title: t('skew_how') }, off === null ? t('no_skew')
        : [clockEl(off), ' ', h('span', { class: 'muted' }, t('clock_skew', { d: skewText(off) }))]),
      cb ? [h('dt', {}, t('codebook')), h('dd', { class: cb.agreed === false ? 'bad' : '' },
        cb.agreed === true ? t('cb_agreed') : cb.agreed === false ? t('cb_mismatch') : t('cb_unknown'),
        cb.ours_version ? ' (' + cb.ours_version + ')' : '')] : null,
      ck ? [h('dt', {}, t('checkpoints')), h('dd', { class: ck.mismatches ? 'bad' : '' },
        ck.mismatches ? t('ck_mismatch', { n: ck.mismatches }) + ' · ' : '',
        ck.last ? t('ck_last', { st: t(ck.last.status === 'mismatch' ? 'ck_mismatched' : 'ck_' + ck.last.status), t: fmtTime(ck.last.at) }) : t('ck_none'))] : null),
    h('h3', {}, t('channels')),
    h('table', { class: 'channels' }, h('tbody', {}, (p.channels || []).map((c) => h('tr', { 'data-channel': c.name },
      h('td', { class: 'name' }, c.name), h('td', {}, badge(c.state)),
      h('td', {}, c.no_suspend ? h('span', { class: 'muted' }, t('no_suspend')) : suspensions(c)))))),
    h('h3', {}, t('links')),
    h('table', { class: 'links' },
      h('thead', {}, h('tr', {}, [t('address'), t('state'), t('last_error'), t('last_test'), t('last_ok_test')].map((x) => h('th', {}, x)))),
      h('tbody', {}, (p.links || []).map((l) => h('tr', {},
        h('td', {}, l.address, l.in_use ? h('span', { class: 'muted' }, ' · ' + t('in_use')) : ''),
        h('td', {}, badge(l.state)), h('td', {}, l.last_error || '—'), h('td', {}, test(l)),
        h('td', {}, l.last_successful_test ? fmtTime(l.last_successful_test) : t('never')))))));
}
function skewText(ms) {
  const s = (Math.abs(ms) / 1000).toFixed(1);
  return (s === '0.0' ? '' : ms > 0 ? '+' : '-') + s + ' s';
}
function suspensions(c) {
  return (c.suspended_by || []).map((s) => h('div', { class: 'susp' },
    t('suspended_by', { by: s.by, op: s.operator, t: fmtTime(s.since), reason: s.reason })));
}

/* ---------- Inbox and sent messages ---------- */

async function pageInbox(main) {
  const all = h('input', { type: 'checkbox', id: 'inbox-all', onchange: () => draw() });
  const box = h('div', {});
  main.replaceChildren(h('div', { class: 'bar' }, h('h1', {}, t('inbox')), h('label', { class: 'inline' }, all, t('show_all'))), box);
  const draw = serial(async () => {
    const msgs = await loadInbox(all.checked);
    box.replaceChildren(msgs.length ? msgTable(msgs, 'in') : h('p', { class: 'muted' }, t('nothing_waiting')));
    tick();
  });
  await draw();
  listen(main, (k) => (k.has('message') || k.has('channel') ? draw().catch(() => {}) : null));
}
async function pageOutbox(main) {
  const box = h('div', {});
  main.replaceChildren(h('h1', {}, t('outbox')), box);
  const draw = serial(async () => {
    const r = await api('/api/outbox');
    const msgs = (r.messages || []).slice().reverse(); // newest first
    box.replaceChildren(msgs.length ? msgTable(msgs, 'out') : h('p', { class: 'muted' }, t('nothing_sent')));
    tick();
  });
  await draw();
  listen(main, (k) => (k.has('message') || k.has('channel') ? draw().catch(() => {}) : null));
}
function msgTable(msgs, dir) {
  const cols = [t('precedence'), dir === 'in' ? t('from') : t('to'), t('channel'), t('text'),
    dir === 'in' ? t('received') : t('created'), t('deadline'), t('state'), ''];
  return h('table', { class: 'msgs', id: dir === 'in' ? 'inbox-table' : 'outbox-table' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
    h('tbody', {}, msgs.map((m) => h('tr', { 'data-id': m.id, 'data-state': m.state, class: m.overdue ? 'overdue' : '' },
      h('td', {}, precBadge(m.precedence)), h('td', {}, m.peer), h('td', {}, m.channel),
      h('td', { class: 'text' }, h('a', { href: '#/message/' + m.id }, preview(m) || m.id)),
      h('td', { class: 'time' }, fmtTime(dir === 'in' ? m.received : m.created)),
      h('td', { class: 'time' }, countdownEl(m)),
      h('td', {}, msgState(m)),
      h('td', {}, dir === 'in' && m.state === 'unacknowledged' ? ackButton(m) : null)))));
}
function msgState(m) {
  return [h('span', { class: 'mstate ms-' + m.state }, t('st_' + m.state)),
    m.acknowledged_by ? h('span', { class: 'muted' }, ' · ' + m.acknowledged_by) : null];
}
function ackButton(m) {
  const b = h('button', { class: 'primary ack', 'data-ack': m.id, onclick: async (e) => {
    e.preventDefault();
    b.disabled = true;
    try {
      await api('/api/ack', { id: m.id });
      onEvent('message'); // the event will come too; do not wait for it
    } catch (x) {
      b.disabled = false;
      b.after(h('div', { class: 'error' }, errText(x)));
    }
  } }, t('ack'));
  return b;
}

/* ---------- Message ---------- */

async function pageMessage(main, id) {
  let both = false;
  const draw = serial(async () => {
    await loadCodebook().catch(() => null);
    const r = await api('/api/message?id=' + encodeURIComponent(id) + '&lang=' + S.lang);
    const m = Array.isArray(r.message) ? r.message[0] : r.message;
    if (!m) {
      main.replaceChildren(h('p', { class: 'error' }, t('no_message')));
      return;
    }
    const toggle = m.rendered && m.media_type === CODE_MEDIA
      ? h('button', { onclick: () => { both = !both; draw(); } }, both ? t('one_lang') : t('both_langs')) : null;
    const facts = [[t('kind'), t('k_' + (m.kind || 'message'))], [t('channel'), m.channel], [t('seq'), m.seq],
      [t('created'), fmtTime(m.created)], [t('received'), m.received && fmtTime(m.received)],
      [t('f_sent'), m.sent && fmtTime(m.sent)], [t('f_delivered'), m.delivered && fmtTime(m.delivered)],
      [t('f_acknowledged'), m.acknowledged && fmtTime(m.acknowledged) + (m.acknowledged_by ? ' · ' + m.acknowledged_by : '')],
      [t('refused_reason'), m.refused_reason], [t('operator'), m.operator], [t('media'), m.media_type],
      [t('size'), m.size], [t('hash'), m.hash]].filter((f) => f[1] !== null && f[1] !== undefined && f[1] !== '');
    main.replaceChildren(h('article', { class: 'card message', 'data-id': m.id },
      h('div', { class: 'bar' }, h('h1', {}, t('message'), ' ', m.id), precBadge(m.precedence),
        h('span', {}, t(m.direction === 'out' ? 'dir_out' : 'dir_in', { p: m.peer })),
        h('span', { id: 'msg-state' }, msgState(m)),
        m.deadline ? h('span', {}, t('deadline'), ': ', countdownEl(m)) : null,
        h('span', { class: 'spacer' }), toggle,
        m.direction === 'in' && m.state === 'unacknowledged' && m.kind !== 'acknowledgment' ? ackButton(m) : null),
      contentEl(m, both),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
      h('h2', {}, t('history')),
      h('table', { class: 'history' }, h('thead', {}, h('tr', {}, h('th', {}, t('at')), h('th', {}, t('state')), h('th', {}, t('detail')))),
        h('tbody', {}, (m.history || []).map((x) => h('tr', {}, h('td', { class: 'time' }, fmtTime(x.at)),
          h('td', {}, h('span', { class: 'mstate ms-' + x.state }, t('st_' + x.state))), h('td', {}, x.detail || '')))))));
    tick();
  });
  await draw();
  listen(main, (k) => (k.has('message') ? draw().catch(() => {}) : null));
}

/* ---------- Compose ---------- */

/* Client-side checks of a codebook field, the same rules the station applies
 * (docs/codebook.md, "Field types"); the station has the last word. */
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?Z$/;
function checkTime(s) {
  const m = TIME_RE.exec(s);
  if (!m) return { err: t('v_time') };
  const [y, mo, d, hh, mi, ss] = m.slice(1).map((x) => Number(x || 0));
  const dt = new Date(Date.UTC(y, mo - 1, d, hh, mi, ss));
  if (y < 1970 || y > 9999 || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d || hh > 23 || mi > 59 || ss > 59) {
    return { err: t('v_date') };
  }
  return { ms: dt.getTime() };
}
const DEG_RE = /^-?\d{1,3}(\.\d{1,6})?$/;
function checkPos(s, ex) {
  const p = s.split(',');
  if (p.length !== 2 || !DEG_RE.test(p[0]) || !DEG_RE.test(p[1])) return { err: t('v_pos', { x: ex }) };
  const lat = Number(p[0]), lon = Number(p[1]);
  if (lat < -90 || lat > 90) return { err: t('v_lat') };
  if (lon < -180 || lon > 180) return { err: t('v_lon') };
  return { lat, lon };
}
function checkField(f, v) {
  if (v === '') return f.required ? t('v_missing') : null;
  switch (f.type) {
  case 'text': {
    if (/[\u0000-\u001f\u007f]/.test(v)) return t('v_text');
    const n = [...v].length, max = f.max_length || 200;
    return n > max ? t('v_long', { n: max, m: n }) : null;
  }
  case 'integer': {
    if (!/^-?[0-9]{1,16}$/.test(v)) return t('v_int', { x: f.example });
    const min = f.min !== undefined ? BigInt(f.min) : -9007199254740991n;
    const max = f.max !== undefined ? BigInt(f.max) : 9007199254740991n;
    const n = BigInt(v);
    return n < min || n > max ? t('v_range', { min, max }) : null;
  }
  case 'time': return checkTime(v).err || null;
  case 'window': {
    const p = v.split('/');
    if (p.length !== 2) return t('v_window', { x: f.example });
    const a = checkTime(p[0]), b = checkTime(p[1]);
    if (a.err || b.err) return a.err || b.err;
    return b.ms > a.ms ? null : t('v_order');
  }
  case 'position': return checkPos(v, f.example).err || null;
  case 'area': {
    let m = /^circle:([^,]+,[^,]+),(.+)$/.exec(v);
    if (m) {
      const c = checkPos(m[1], f.example);
      if (c.err) return c.err;
      const r = Number(m[2]);
      return /^\d{1,5}(\.\d{1,3})?$/.test(m[2]) && r > 0 && r <= 20000 ? null : t('v_radius');
    }
    m = /^polygon:(.+)$/.exec(v);
    if (!m) return t('v_area', { x: f.example });
    const pts = m[1].split(';').map((x) => checkPos(x, f.example));
    const bad = pts.find((x) => x.err);
    if (bad) return bad.err;
    const same = (a, b) => a.lat === b.lat && a.lon === b.lon;
    if (pts.length < 3 || pts.length > 64 || pts.some((x, i) => i && same(x, pts[i - 1])) || same(pts[0], pts[pts.length - 1])) {
      return t('v_vertices');
    }
    return null;
  }
  case 'enum': return (f.values || []).some((x) => x.value === v.toLowerCase()) ? null : t('v_enum');
  case 'msgid': return /^[0-9a-fA-F]{12}$/.test(v) ? null : t('v_msgid');
  default: return null;
  }
}

async function pageCompose(main) {
  const [st, cb] = await Promise.all([S.status ? Promise.resolve(S.status) : loadStatus(), loadCodebook().catch(() => null)]);
  const peers = st.peers || [];
  const msg = h('div', { id: 'compose-result', role: 'status' });
  const peerSel = h('select', { id: 'c-peer', onchange: () => fillChannels() }, peers.map((p) => h('option', { value: p.name }, p.name)));
  const chanSel = h('select', { id: 'c-channel' });
  const fillChannels = () => {
    const p = (S.status.peers || []).find((x) => x.name === peerSel.value) || { channels: [] };
    const keep = chanSel.value;
    chanSel.replaceChildren(...(p.channels || []).map((c) => h('option', { value: c.name, disabled: c.state === 'suspended' },
      c.name + (c.state === 'suspended' ? ' ' + t('chan_suspended') : ''))));
    if (keep && [...chanSel.options].some((o) => o.value === keep && !o.disabled)) chanSel.value = keep;
    else {
      const first = [...chanSel.options].find((o) => !o.disabled);
      if (first) chanSel.value = first.value;
    }
  };
  fillChannels();
  const precSel = h('select', { id: 'c-precedence' }, PREC.map((p) => h('option', { value: p, disabled: !canUrgent() && (p === 'flash' || p === 'immediate') }, t('pr_' + p))));
  precSel.value = 'routine';
  const setPrec = (p) => {
    precSel.value = !canUrgent() && (p === 'flash' || p === 'immediate') ? 'priority' : p;
  };
  const modes = ['text', 'two', 'code'];
  let mode = 'text';
  const modeBox = h('div', { class: 'modes', role: 'radiogroup' }, modes.map((m) =>
    h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'mode', value: m, id: 'mode-' + m, checked: m === mode,
      onchange: () => { mode = m; drawBody(); } }), t('mode_' + m))));

  const text = h('textarea', { id: 'c-text', rows: 8 });
  const en = h('textarea', { id: 'c-text-en', rows: 8, lang: 'en' });
  const zh = h('textarea', { id: 'c-text-zh', rows: 8, lang: 'zh-Hans' });
  const orig = h('select', { id: 'c-original' }, h('option', { value: 'en' }, t('text_en')), h('option', { value: 'zh' }, t('text_zh')));
  orig.value = S.lang;
  const tplSel = h('select', { id: 'c-template', onchange: () => { drawFields(); setPrec(template(tplSel.value).precedence); } },
    ((cb && cb.templates) || []).map((x) => h('option', { value: x.code }, x.code + ' — ' + bi(x.title))));
  const fieldBox = h('div', { class: 'fields', id: 'c-fields' });
  const inputs = {};
  const drawFields = () => {
    const tp = template(tplSel.value);
    fieldBox.replaceChildren();
    for (const k of Object.keys(inputs)) delete inputs[k];
    if (!tp) return;
    if (tp.description) fieldBox.append(h('p', { class: 'muted' }, bi(tp.description)));
    for (const f of tp.fields) {
      const err = h('div', { class: 'ferr', id: 'err-' + f.name, role: 'alert' });
      let input;
      if (f.type === 'enum') {
        input = h('select', { name: f.name }, h('option', { value: '' }, t('choose')),
          f.values.map((v) => h('option', { value: v.value }, bi(v.label))));
      } else {
        input = h('input', { name: f.name, placeholder: f.example, autocomplete: 'off', title: f.syntax || null,
          inputmode: f.type === 'integer' ? 'numeric' : null });
      }
      input.id = 'f-' + f.name;
      const check = () => {
        const e = checkField(f, input.value.trim());
        err.textContent = e || '';
        input.classList.toggle('invalid', !!e);
        return !e;
      };
      // Checked when the operator leaves the field; once marked, at every
      // keystroke, so that the mark goes as soon as the value is right (and
      // the form does not move under the pointer on the way to Send).
      input.addEventListener('change', check);
      input.addEventListener('blur', check);
      input.addEventListener('input', () => input.classList.contains('invalid') && check());
      inputs[f.name] = { input, err, check, f };
      const hint = [f.required ? t('required') : t('optional'), f.unit ? bi(f.unit) : null,
        f.type === 'integer' && (f.min !== undefined || f.max !== undefined) ? (f.min ?? '') + '…' + (f.max ?? '') : null,
        f.type !== 'enum' ? t('example', { x: f.example }) : null].filter(Boolean).join(' · ');
      fieldBox.append(h('div', { class: 'field', 'data-field': f.name },
        h('label', { for: input.id }, bi(f.label), ' ', h('span', { class: 'muted' }, hint)), input, err));
    }
  };
  const body = h('div', {});
  const drawBody = () => {
    if (mode === 'text') body.replaceChildren(h('label', {}, t('text'), text));
    else if (mode === 'two') body.replaceChildren(h('div', { class: 'two' }, h('label', {}, t('text_en'), en), h('label', {}, t('text_zh'), zh)), h('label', { class: 'inline' }, t('original'), ' ', orig));
    else if (!cb) body.replaceChildren(h('p', { class: 'error' }, t('no_codebook')));
    else {
      if (!fieldBox.childNodes.length) {
        drawFields();
        setPrec(template(tplSel.value).precedence);
      }
      body.replaceChildren(h('label', {}, t('template'), tplSel), fieldBox);
    }
  };
  drawBody();

  const submit = h('button', { type: 'submit', class: 'primary', id: 'c-send' }, t('send'));
  const form = h('form', { class: 'card compose', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    msg.className = '';
    msg.textContent = '';
    const req = { to: peerSel.value, channel: chanSel.value, precedence: precSel.value };
    if (mode === 'text') {
      if (!text.value.trim()) return fail(t('enter_text'));
      req.text = text.value;
    } else if (mode === 'two') {
      if (!en.value.trim() || !zh.value.trim()) return fail(t('enter_both'));
      Object.assign(req, { text_en: en.value, text_zh: zh.value, original: orig.value });
    } else {
      const all = Object.values(inputs).map((x) => x.check());
      if (all.includes(false)) return fail(t('fix_fields'));
      req.code = tplSel.value;
      req.fields = {};
      for (const [k, x] of Object.entries(inputs)) if (x.input.value.trim() !== '') req.fields[k] = x.input.value.trim();
    }
    submit.disabled = true;
    try {
      const r = await api('/api/send', req);
      msg.className = 'ok';
      msg.replaceChildren(t('sent_ok'), ' ', h('a', { href: '#/message/' + r.id, id: 'sent-id' }, r.id));
      text.value = en.value = zh.value = '';
      for (const x of Object.values(inputs)) x.input.value = '';
    } catch (x) {
      if (x.code === 'invalid' && x.field && inputs[x.field]) {
        inputs[x.field].err.textContent = x.message;
        inputs[x.field].input.classList.add('invalid');
        inputs[x.field].input.focus();
        fail(t('fix_fields'));
      } else fail(errText(x));
    } finally {
      submit.disabled = false;
    }
  } },
  h('h1', {}, t('compose')),
  h('div', { class: 'row' }, h('label', {}, t('peer'), peerSel), h('label', {}, t('channel'), chanSel),
    h('label', {}, t('precedence'), precSel)),
  !canUrgent() ? h('p', { class: 'muted', id: 'prec-note' }, t('prec_not_allowed')) : null,
  modeBox, body, h('div', { class: 'bar' }, submit, msg));
  function fail(s) {
    msg.className = 'error';
    msg.textContent = s;
  }
  main.replaceChildren(form);
  // Channel states change (suspensions): keep the list current, not the form.
  listen(main, (k) => (k.has('link') || k.has('channel') || k.has('status') ? loadStatus().then(fillChannels).catch(() => {}) : null));
}

/* ---------- Transcript ---------- */

async function pageTranscript(main) {
  const st = S.status || (await loadStatus());
  const peerSel = h('select', { id: 't-peer', onchange: () => draw() }, (st.peers || []).map((p) => h('option', { value: p.name }, p.name)));
  if (S.arg) peerSel.value = S.arg;
  let timer = null;
  const q = h('input', { type: 'search', id: 't-q', placeholder: t('search'), oninput: () => {
    clearTimeout(timer);
    timer = setTimeout(draw, 300);
  } });
  const verdict = h('div', { id: 't-verdict' });
  const box = h('div', {});
  main.replaceChildren(h('div', { class: 'bar' }, h('h1', {}, t('transcript')), h('label', { class: 'inline' }, t('peer'), ' ', peerSel), q), verdict, box);
  const draw = serial(async () => {
    if (!peerSel.value) return;
    const r = await api('/api/transcript?peer=' + encodeURIComponent(peerSel.value) + (q.value ? '&q=' + encodeURIComponent(q.value) : ''));
    verdict.className = 'verdict ' + (r.verified ? 'good' : 'bad');
    verdict.replaceChildren(h('strong', {}, r.verified ? t('verified') : t('not_verified')), h('div', {}, r.detail || ''));
    const evs = r.events || [];
    box.replaceChildren(evs.length ? h('table', { class: 'msgs', id: 'transcript-table' },
      h('thead', {}, h('tr', {}, [t('at'), t('direction'), t('id'), t('channel'), t('precedence'), t('kind'), t('text'), t('state')].map((c) => h('th', {}, c)))),
      h('tbody', {}, evs.map((e) => {
        const dir = e.direction || (e.chain === 'out' ? 'out' : 'in');
        const from = dir === 'out' ? st.station : peerSel.value, to = dir === 'out' ? peerSel.value : st.station;
        return h('tr', { class: e.precedence === 'flash' || e.precedence === 'immediate' ? 'urgent' : '' },
          h('td', { class: 'time' }, fmtTime(e.created || e.at)), h('td', {}, from + ' → ' + to),
          h('td', {}, h('a', { href: '#/message/' + e.id }, e.id), h('span', { class: 'muted' }, ' #' + e.seq)),
          h('td', {}, e.channel), h('td', {}, e.precedence ? precBadge(e.precedence) : ''),
          h('td', {}, t('k_' + (e.kind || 'message'))),
          h('td', { class: 'text' }, e.kind === 'suspension' || e.kind === 'resumption' ? [e.operator, e.text].filter(Boolean).join(': ') : preview(e)),
          h('td', {}, e.state ? msgState(e) : ''));
      }))) : h('p', { class: 'muted' }, t('no_events')));
  });
  await draw();
  listen(main, (k) => (k.has('message') || k.has('channel') ? draw().catch(() => {}) : null));
}

/* ---------- Notices ---------- */

async function pageNotices(main) {
  const box = h('div', {});
  const note = h('div', { id: 'notice-result', role: 'status' });
  main.replaceChildren(h('div', {}, h('h1', {}, t('notices')), h('p', { class: 'muted' }, t('notices_help')),
    canSuspend() ? null : h('p', { class: 'muted', id: 'notice-role' }, t('only_duty')), note, box));
  const reasons = {}; // typed reasons survive a redraw, and so does the focus
  const draw = serial(async () => {
    const st = await loadStatus();
    const focus = document.activeElement && document.activeElement.dataset.key;
    box.replaceChildren(...(st.peers || []).map((p) => h('section', { class: 'card' },
      h('h2', {}, p.name, ' ', badge(p.state)),
      h('table', { class: 'notices' }, h('tbody', {}, (p.channels || []).map((c) => noticeRow(p, c, reasons, note)))))));
    const el = focus && [...box.querySelectorAll('input[data-key]')].find((x) => x.dataset.key === focus);
    if (el) el.focus();
    tick();
  });
  await draw();
  listen(main, (k) => (k.has('link') || k.has('channel') || k.has('status') ? draw().catch(() => {}) : null));
}
function noticeRow(p, c, reasons, note) {
  const key = p.name + '/' + c.name;
  const mine = (c.suspended_by || []).find((s) => s.by_us);
  const act = async (path, body) => {
    note.className = '';
    note.textContent = '';
    try {
      const r = await api(path, body);
      note.className = 'ok';
      note.textContent = r.notice || r.id ? t('notice_ok', { id: r.notice || r.id }) : '';
      delete reasons[key];
      onEvent('channel');
    } catch (x) {
      note.className = 'error';
      note.textContent = errText(x);
    }
  };
  let action = null;
  if (c.no_suspend) action = h('span', { class: 'muted' }, t('cannot_suspend'));
  else if (!canSuspend()) action = null;
  else if (mine) {
    action = h('button', { class: 'resume', 'data-resume': c.name, onclick: () => act('/api/resume', { peer: p.name, channel: c.name }) }, t('resume'));
  } else {
    const reason = h('input', { class: 'reason', 'data-reason': c.name, 'data-key': key, placeholder: t('reason'), value: reasons[key] || '',
      oninput: (e) => { reasons[key] = e.target.value; } });
    action = h('span', { class: 'inline' }, reason, h('button', { class: 'danger', 'data-suspend': c.name, onclick: () => {
      if (!reason.value.trim()) {
        note.className = 'error';
        note.textContent = t('need_reason');
        reason.focus();
        return;
      }
      act('/api/suspend', { peer: p.name, channel: c.name, reason: reason.value.trim() });
    } }, t('suspend')));
  }
  return h('tr', { 'data-channel': c.name },
    h('td', { class: 'name' }, c.name), h('td', {}, badge(c.state)),
    h('td', {}, (c.suspended_by || []).map((s) => h('div', { class: 'susp' },
      t('suspended_by', { by: s.by, op: s.operator, t: fmtTime(s.since), reason: s.reason }), ' · ',
      s.by_us ? t('by_us') : t('by_peer', { p: s.by }), ' · ',
      h('a', { href: '#/message/' + s.notice }, s.notice), s.notice_state ? ' (' + t('st_' + s.notice_state) + ')' : ''))),
    h('td', {}, action));
}

/* ---------- start ---------- */

async function start() {
  S.lang = localStorage.getItem('hl_lang') || (navigator.language.startsWith('zh') ? 'zh' : 'en');
  document.documentElement.lang = S.lang === 'zh' ? 'zh-Hans' : 'en';
  try {
    loggedIn(await api('/api/me'));
  } catch (e) {
    header();
  }
  window.addEventListener('hashchange', route);
  setInterval(() => { tick(); updateNav(); }, 500);
  route();
}
start();
