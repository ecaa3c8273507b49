// npm run bench: measures the built CLI against baselines measured in the same
// run, prints a table of ratios and rewrites the results part of
// docs/benchmarks.md (see writeReport). It reports; it never fails.
import { spawn, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import DHT from 'hyperdht'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = path.join(ROOT, 'bin/p2pchat.js')
const RAW = path.join(ROOT, 'bench/raw.mjs')
const QUICK = process.argv.includes('--quick')
const argAfter = (flag) => {
  const i = process.argv.indexOf(flag)
  return i === -1 ? null : process.argv[i + 1]
}
// --against DIR: also measure the throughput of another built checkout (e.g.
// a git worktree of an older commit) in the same run, and print the ratio.
const AGAINST = argAfter('--against')
const AGAINST_BIN = AGAINST ? path.join(path.resolve(AGAINST), 'bin/p2pchat.js') : null
// Named by its commit when it is a git checkout.
const againstName = () => {
  try {
    return execFileSync('git', ['-C', path.resolve(AGAINST), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return path.basename(path.resolve(AGAINST))
  }
}
// --only NAME[,NAME]: run only these sections (startup, ttfl, throughput, latency, fanout, room, loss, invite).
// --runs N: throughput runs per kind (default 3; the median counts).
const ONLY = argAfter('--only')?.split(',') ?? null
const want = (section) => ONLY === null || ONLY.includes(section)
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pchat-bench-'))
const ENV = { ...process.env, HOME, XDG_CONFIG_HOME: path.join(HOME, 'cfg'), NO_COLOR: '1' }
const procs = new Set()

function start(cmd, args, { stdin = 'pipe', env = ENV } = {}) {
  const child = spawn(cmd, args, { env, stdio: [stdin, 'pipe', 'pipe'] })
  procs.add(child)
  const p = { child, out: '', err: '', waiters: [] }
  const wake = () => p.waiters.splice(0).forEach((w) => w())
  child.stdout.on('data', (d) => ((p.out += d), wake()))
  child.stderr.on('data', (d) => ((p.err += d), wake()))
  child.on('exit', () => (procs.delete(child), wake()))
  child.stdin?.on('error', () => {})
  p.waitFor = async (re, where = 'out', ms = 20000) => {
    const end = Date.now() + ms
    for (;;) {
      const m = p[where].match(re)
      if (m) return m
      if (Date.now() > end) throw new Error(`bench: timed out waiting for ${re} in ${cmd} ${args.join(' ')}\n${p.err.slice(-500)}`)
      await new Promise((r) => (p.waiters.push(r), setTimeout(r, 100)))
    }
  }
  p.exited = new Promise((r) => child.on('exit', r))
  return p
}

const cli = (args, opts) => start(process.execPath, [BIN, ...args], opts)
const cliOf = (bin) => (args, opts) => start(process.execPath, [bin, ...args], opts)
const raw = (args, opts) => start(process.execPath, [RAW, ...args], opts)
const sorted = (a) => [...a].sort((x, y) => x - y)
const pct = (a, q) => sorted(a)[Math.min(a.length - 1, Math.floor((a.length - 1) * q))]
const median = (a) => pct(a, 0.5)
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
// A process that already exited (a connector done before the listener printed
// the last line) counts with its last reading.
const lastTicks = new Map()
const cpuTicks = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    lastTicks.set(pid, Number(f[11]) + Number(f[12]))
  } catch {}
  return lastTicks.get(pid) ?? 0
}

async function timeRuns(cmd, args, n) {
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const p = start(cmd, args, { stdin: 'ignore' })
    await p.exited
    times.push(performance.now() - t0)
  }
  return times
}

const rows = []
function row(name, value, base, unit, target, better) {
  const ratio = value / base
  const met = target === null ? '' : better === 'lower' ? (ratio <= target ? 'yes' : 'NO') : ratio >= target ? 'yes' : 'NO'
  rows.push({ name, value, base, unit, ratio, target: target === null ? '' : `${better === 'lower' ? '≤' : '≥'} ${target}×`, met })
  console.log(`${name.padEnd(44)} ${fmt(value)} ${unit} vs ${fmt(base)} ${unit}  ratio ${ratio.toFixed(2)}  ${met}`)
}
const absolute = []
function note(name, value, target, met) {
  absolute.push({ name, value, target, met })
  console.log(`${name.padEnd(44)} ${value}  ${target} ${met}`)
}
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))

async function main() {
  const N = QUICK ? 5 : 20
  // 1. Startup
  if (want('startup')) {
    const nodeT = await timeRuns(process.execPath, ['-e', '0'], N)
    const helpT = await timeRuns(process.execPath, [BIN, '--help'], N)
    const keyFile = path.join(HOME, 'bench-id.json')
    const keygenT = await timeRuns(process.execPath, [BIN, 'keygen', '--force', '--out', keyFile], N)
    row('startup: p2pchat --help (median)', median(helpT), median(nodeT), 'ms', 1.3, 'lower')
    row('startup: p2pchat keygen (median)', median(keygenT), median(nodeT), 'ms', null, 'lower')
  }

  // A private DHT, as `p2pchat bootstrap` runs it.
  const boot = cli(['bootstrap', '--port', '0'])
  const B = (await boot.waitFor(/^(\S+)\n/))[1]
  // Each listener gets its own identity: one key is served by one listener at a time.
  let homes = 0
  const ownHome = () => ({ ...ENV, XDG_CONFIG_HOME: path.join(HOME, `listener-${++homes}`) })
  const listen = (extra = [], run = cli) => run(['listen', '--bootstrap', B, '--rate-lines', '0', '--rate-bytes', '0', ...extra], { env: ownHome() })
  const keyOf = async (p) => (await p.waitFor(/listening on ([0-9a-f]{64})/, 'err'))[1]

  if (want('ttfl')) await timeToFirstLine(B, listen, keyOf)
  if (want('throughput')) await throughput(B, listen, keyOf)
  if (want('latency')) await latency(B)
  if (want('fanout') || want('room')) await rooms(B, listen, keyOf, ownHome)
  if (want('loss')) await loss(B)
  if (want('invite')) await invite(B, keyOf, ownHome)

  for (const c of procs) c.kill('SIGKILL')
  writeReport()
}

// 2. Time to first line: p2pchat connect vs a raw client, into the same listener.
async function timeToFirstLine(B, listen, keyOf) {
  const L = listen()
  const LK = await keyOf(L)
  const ttfl = { cli: [], raw: [] }
  for (let i = 0; i < (QUICK ? 4 : 12); i++) {
    for (const kind of ['cli', 'raw']) {
      const tag = `ttfl-${kind}-${i}`
      const t0 = performance.now()
      const c = kind === 'cli' ? cli(['connect', LK, '--bootstrap', B]) : raw(['client', B, LK])
      c.child.stdin.end(`${tag}\n`)
      await L.waitFor(new RegExp(`\\] ${tag}\\n`))
      ttfl[kind].push(performance.now() - t0)
      c.child.kill()
    }
  }
  row('time to first line (median of ' + ttfl.cli.length + ')', median(ttfl.cli), median(ttfl.raw), 'ms', 1.1, 'lower')
  L.child.kill()
}

// 3. Throughput, connect → listen in pipe mode vs raw client → raw sink.
// `connect` tracks the delivery of every line it sends (issue 10: sequence
// numbers, the transport's acknowledgements, exit 0 only once all are
// acknowledged); there is no switch to turn that off, so this is the
// throughput with tracking on. Each kind runs RUNS times, interleaved, and
// the median counts (one run on a shared 2-core machine is noisy).
async function throughput(B, listen, keyOf) {
  const RUNS = Number(argAfter('--runs') ?? (QUICK ? 1 : 3))
  for (const [lines, size] of QUICK ? [[20000, 64]] : [[100000, 64], [1000, 60 * 1024]]) {
    const payload = Buffer.alloc(lines * size, 0x61)
    for (let i = size - 1; i < payload.length; i += size) payload[i] = 0x0a
    // Both receivers print what arrives on stdout (the p2pchat listener with a
    // "[abcd1234] " prefix per line); the bench times first byte → last line
    // on that stdout, the same way for both, and counts the CPU time both
    // processes used meanwhile (less disturbed by other jobs than wall time).
    const receive = (proc, total, sender) =>
      new Promise((resolve) => {
        let first = 0
        let cpu0 = 0
        let count = 0
        const ticks = () => cpuTicks(proc.child.pid) + cpuTicks(sender().child.pid)
        proc.child.stdout.on('data', (d) => {
          if (!first) {
            first = performance.now()
            cpu0 = ticks()
          }
          else ticks() // keep the readings fresh, in case a process exits before the end
          for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) count++
          if (count >= total && first) {
            resolve({ ms: performance.now() - first, cpuMs: (ticks() - cpu0) * 10 })
            first = 0
            count = -Infinity
          }
        })
      })
    // p2pchat (this build, or the --against one) at both ends.
    const viaCli = async (run) => {
      const L2 = listen([], run)
      const K2 = await keyOf(L2)
      let c
      const done = receive(L2, lines, () => c)
      c = run(['connect', K2, '--bootstrap', B])
      c.child.stdin.end(payload)
      const result = await done
      // The connector exits 0 only once every line was acknowledged.
      await c.exited
      L2.child.kill('SIGINT')
      await L2.exited
      return result
    }
    const viaRaw = async () => {
      const printer = raw(['print', B])
      const SK = (await printer.waitFor(/listening ([0-9a-f]{64})/, 'err'))[1]
      let rc
      const done = receive(printer, lines, () => rc)
      rc = raw(['client', B, SK])
      rc.child.stdin.end(payload)
      const result = await done
      rc.child.kill()
      printer.child.kill()
      return result
    }
    const t = { cli: [], raw: [], old: [] }
    for (let r = 0; r < RUNS; r++) {
      t.cli.push(await viaCli(cli))
      t.raw.push(await viaRaw())
      if (AGAINST_BIN) t.old.push(await viaCli(cliOf(AGAINST_BIN)))
    }
    const wall = (k) => t[k].map((x) => x.ms)
    const cpuOf = (k) => t[k].map((x) => x.cpuMs)
    const mb = payload.length / 1024 / 1024
    const runs = RUNS > 1 ? `, median of ${RUNS}` : ''
    const spread = (ms) => sorted(ms.map((x) => mb / (x / 1000))).map(fmt).join(' ')
    console.log(`  runs (MB/s): p2pchat ${spread(wall('cli'))} | raw ${spread(wall('raw'))}${AGAINST_BIN ? ` | against ${spread(wall('old'))}` : ''}`)
    console.log(`  runs (MB per CPU second): p2pchat ${spread(cpuOf('cli'))} | raw ${spread(cpuOf('raw'))}${AGAINST_BIN ? ` | against ${spread(cpuOf('old'))}` : ''}`)
    row(`throughput ${lines} × ${size} B (MB/s${runs})`, mb / (median(wall('cli')) / 1000), mb / (median(wall('raw')) / 1000), 'MB/s', 0.9, 'higher')
    row(`throughput ${lines} × ${size} B (lines/s${runs})`, lines / (median(wall('cli')) / 1000), lines / (median(wall('raw')) / 1000), 'l/s', 0.9, 'higher')
    if (AGAINST_BIN) {
      const name = againstName()
      row(`throughput ${lines} × ${size} B vs ${name} (MB/s${runs})`, mb / (median(wall('cli')) / 1000), mb / (median(wall('old')) / 1000), 'MB/s', 0.95, 'higher')
      row(`throughput ${lines} × ${size} B vs ${name} (MB per CPU s, both ends${runs})`, mb / (median(cpuOf('cli')) / 1000), mb / (median(cpuOf('old')) / 1000), 'MB/cpu-s', 0.95, 'higher')
    }
  }
}

// 4. Latency: one line's round trip through an echo peer.
async function latency(B) {
  const echo = raw(['echo', B])
  const EK = (await echo.waitFor(/listening ([0-9a-f]{64})/, 'err'))[1]
  const lat = {}
  for (const kind of ['cli', 'raw']) {
    const c = kind === 'cli' ? cli(['connect', EK, '--bootstrap', B]) : raw(['client', B, EK])
    if (kind === 'cli') await c.waitFor(/connected to/, 'err')
    const times = []
    for (let i = 0; i < (QUICK ? 50 : 300); i++) {
      const tag = `ping-${i}\n`
      const before = c.out.length
      const t0 = performance.now()
      c.child.stdin.write(tag)
      await new Promise((resolve) => {
        const check = () => (c.out.length - before >= tag.length ? resolve() : c.waiters.push(check))
        check()
      })
      times.push(performance.now() - t0)
    }
    lat[kind] = times
    c.child.kill()
  }
  row('round trip p50', pct(lat.cli, 0.5), pct(lat.raw, 0.5), 'ms', 1.1, 'lower')
  row('round trip p99', pct(lat.cli, 0.99), pct(lat.raw, 0.99), 'ms', 1.1, 'lower')
  echo.child.kill()
}

// 5. Fan-out: one typed line to 10, 50, 100 peers; listener memory per peer.
// 6. A room: 20 peers each sending 100 lines/s for 10 s (default rate limits).
async function rooms(B, listen, keyOf, ownHome) {
  const [bh, bp] = B.split(':')
  const node = new DHT({ bootstrap: [{ host: bh, port: Number(bp) }], host: '127.0.0.1' })
  if (want('fanout')) await fanOut(node, listen, keyOf)
  if (want('room')) await room(node, B, keyOf, ownHome)
  await node.destroy()
}

async function fanOut(node, listen, keyOf) {
  const F = listen()
  const FK = await keyOf(F)
  const sockets = []
  const rssAt = {}
  for (const n of QUICK ? [10] : [10, 50, 100]) {
    while (sockets.length < n) {
      const s = node.connect(Buffer.from(FK, 'hex'), { keyPair: DHT.keyPair() })
      s.on('error', () => {})
      await new Promise((r) => s.once('open', r))
      s.buf = ''
      s.on('data', (d) => (s.buf += d))
      sockets.push(s)
    }
    await new Promise((r) => setTimeout(r, 1000))
    rssAt[n] = rssKiB(F.child.pid)
    const times = []
    for (let i = 0; i < (QUICK ? 10 : 40); i++) {
      const tag = `fan-${n}-${i}\n`
      const t0 = performance.now()
      F.child.stdin.write(tag)
      await new Promise((resolve) => {
        const poll = () => (sockets.every((s) => s.buf.includes(tag)) ? resolve() : setImmediate(poll))
        poll()
      })
      times.push(performance.now() - t0)
      for (const s of sockets) s.buf = ''
    }
    note(`fan-out to ${n} peers: p50 / p99`, `${fmt(pct(times, 0.5))} / ${fmt(pct(times, 0.99))} ms`, n === 100 ? 'p99 < 50 ms' : '', n === 100 ? (pct(times, 0.99) < 50 ? 'yes' : 'NO') : '')
  }
  if (rssAt[100]) {
    const perPeer = (rssAt[100] - rssAt[10]) / 90
    note('listener RSS per extra peer (10 → 100)', `${fmt(perPeer)} KiB (${fmt(rssAt[10] / 1024)} → ${fmt(rssAt[100] / 1024)} MiB)`, '< 1 MiB/peer', perPeer < 1024 ? 'yes' : 'NO')
  }
  for (const s of sockets) s.destroy()
  F.child.kill()
}

async function room(node, B, keyOf, ownHome) {
  const R = cli(['listen', '--bootstrap', B], { env: ownHome() })
  const RK = await keyOf(R)
  const peers = []
  const seconds = QUICK ? 3 : 10
  for (let i = 0; i < 20; i++) {
    const s = node.connect(Buffer.from(RK, 'hex'), { keyPair: DHT.keyPair() })
    s.on('error', () => {})
    await new Promise((r) => s.once('open', r))
    s.got = 0
    s.lat = []
    let rest = ''
    s.on('data', (d) => {
      const text = rest + d
      const lines = text.split('\n')
      rest = lines.pop()
      const now = performance.now()
      for (const l of lines) {
        const m = / room (\d+) (\d+) ([\d.]+)$/.exec(l)
        if (m) {
          s.got++
          s.lat.push(now - Number(m[3]))
        }
      }
    })
    peers.push(s)
  }
  await new Promise((r) => setTimeout(r, 500))
  const cpu0 = cpuTicks(R.child.pid)
  const t0 = performance.now()
  let sent = 0
  await new Promise((resolve) => {
    let tick = 0
    const timer = setInterval(() => {
      for (let p = 0; p < peers.length; p++) {
        for (let k = 0; k < 10; k++) peers[p].write(` room ${p} ${tick * 10 + k} ${performance.now().toFixed(3)}\n`)
        sent += 10
      }
      if (++tick >= seconds * 10) (clearInterval(timer), resolve())
    }, 100)
  })
  const expected = sent * (peers.length - 1)
  const deadline = Date.now() + 10000
  while (peers.reduce((a, s) => a + s.got, 0) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const wall = (performance.now() - t0) / 1000
  // /proc/PID/stat counts in clock ticks: 100 per second on Linux.
  const cpu = (cpuTicks(R.child.pid) - cpu0) / 100 / wall
  const delivered = peers.reduce((a, s) => a + s.got, 0)
  const allLat = peers.flatMap((s) => s.lat)
  note('room: forwarded lines delivered', `${delivered} of ${expected}`, 'all', delivered === expected ? 'yes' : 'NO')
  note('room: forwarding latency p50 / p99', `${fmt(pct(allLat, 0.5))} / ${fmt(pct(allLat, 0.99))} ms`, '', '')
  note('room: listener CPU', `${(cpu * 100).toFixed(0)} % of one core`, '', '')
  for (const s of peers) s.destroy()
  R.child.kill()
}

// 7. A dead peer while a line waits (issue 10). p2pchat: `connect --reconnect
// --json` to a listener with a fixed identity; the listener is SIGKILLed, a
// line is typed at once, and the listener is restarted with the same
// identity at once. Timed from the kill: "connection lost" (the dead path
// noticed), the new listener announced, and the queued line's `delivered`
// event (the outbox re-sent it on the new connection). Baseline: the raw
// stand-in (bench/raw.mjs client → raw print server, the plain hyperdht
// example peer); its server is SIGKILLed and a line written at once: the time
// until its stream closes, i.e. until it notices the loss at all.
async function loss(B) {
  const N = QUICK ? 3 : 10
  const idFile = path.join(HOME, 'loss-id.json')
  const gen = cli(['keygen', '--force', '--out', idFile])
  await gen.exited
  const K = gen.out.trim()
  const listener = () => cli(['listen', '--identity', idFile, '--bootstrap', B])
  let L = listener()
  await L.waitFor(/listening on/, 'err')
  const C = cli(['connect', K, '--reconnect', '--json', '--bootstrap', B])
  const times = { lost: [], ready: [], delivered: [] }
  const count = (re) => C.out.match(re)?.length ?? 0
  for (let i = 0; i < N; i++) {
    // Connected (again), for longer than a "stable" connection (5 s): the
    // loss is redialled at once, without backoff.
    await C.waitFor(new RegExp(`("type":"connected"[^]*){${i + 1}}`), 'out', 60000)
    await new Promise((r) => setTimeout(r, 5500))
    const tag = `queued ${i}`
    const lostBefore = count(/"type":"notice"[^\n]*connection lost/g)
    const t0 = performance.now()
    L.child.kill('SIGKILL')
    C.child.stdin.write(`${tag}\n`)
    L = listener()
    const seq = Number((await C.waitFor(new RegExp(`"type":"sent"[^\n]*"seq":(\\d+),"text":"${tag}"`), 'out'))[1])
    const marks = {}
    // Polled every 10 ms: the marks are seconds apart.
    while (!(marks.lost && marks.ready && marks.delivered)) {
      const now = performance.now() - t0
      if (!marks.lost && count(/"type":"notice"[^\n]*connection lost/g) > lostBefore) marks.lost = now
      if (!marks.ready && /listening on/.test(L.err)) marks.ready = now
      const upTo = Math.max(0, ...[...C.out.matchAll(/"type":"delivered"[^\n]*"upTo":(\d+)/g)].map((m) => Number(m[1])))
      if (!marks.delivered && upTo >= seq) marks.delivered = now
      if (now > 90000) throw new Error(`bench: the queued line was not delivered within 90 s\n${C.out.slice(-1000)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    for (const k of Object.keys(times)) times[k].push(marks[k])
  }
  C.child.kill('SIGKILL')
  L.child.kill('SIGKILL')

  const rawTimes = []
  for (let i = 0; i < (QUICK ? 1 : 3); i++) {
    const printer = raw(['print', B])
    const SK = (await printer.waitFor(/listening ([0-9a-f]{64})/, 'err'))[1]
    const rc = raw(['client', B, SK])
    rc.child.stdin.write('hello\n')
    await printer.waitFor(/hello\n/)
    const t0 = performance.now()
    printer.child.kill('SIGKILL')
    rc.child.stdin.write('pending\n')
    try {
      await rc.waitFor(/closed/, 'err', 60000)
      rawTimes.push(performance.now() - t0)
    } catch {
      rawTimes.push(Infinity) // never noticed within 60 s
    }
    rc.child.kill('SIGKILL')
  }
  const rawMs = median(rawTimes)
  row(`listener SIGKILLed, a line pending → "connection lost" (median of ${N})`, median(times.lost), rawMs, 'ms', null, 'lower')
  row(`SIGKILL + restart of the listener → first queued line delivered (median of ${N})`, median(times.delivered), rawMs, 'ms', null, 'lower')
  note(`SIGKILL → "connection lost", a line pending: median / max of ${N}`, `${fmt(median(times.lost))} / ${fmt(Math.max(...times.lost))} ms`, '≤ 5 s', Math.max(...times.lost) <= 5000 ? 'yes' : 'NO')
  note(`SIGKILL → restarted listener announced (same identity): median`, `${fmt(median(times.ready))} ms`, '', '')
  note(`raw stand-in: SIGKILL → its stream closes, a line pending (${rawTimes.length} runs)`, rawTimes.map((t) => (Number.isFinite(t) ? `${fmt(t)} ms` : 'never (60 s)')).join(', '), '', '')
}

// 8. Pairing by invite code (issue 12). Each run: a fresh `listen --invite`
// with its own config home; once it has printed its code, `connect CODE` is
// spawned with a line on stdin, timed until the listener's stdout shows the
// line: the CPace run over the rendezvous, saving the contact, then the chat
// connection to the inviter's key. Baseline: the same setup (a fresh
// `listen --invite`, ready, with its code open) and `connect KEY`, the
// listener's key given directly. Both connectors use the same identity file
// (--identity) and a fresh config home for their contacts, so the ratio is
// what pairing adds, nothing else. Interleaved, like time to first line.
// Then the PAKE alone, in process: both sides of one CPace run (src/core/invite/pake.ts).
async function invite(B, keyOf, ownHome) {
  const N = QUICK ? 3 : 10
  const idFile = path.join(HOME, 'invite-joiner.json')
  await cli(['keygen', '--force', '--out', idFile]).exited
  let joiners = 0
  const joinerHome = () => ({ ...ENV, XDG_CONFIG_HOME: path.join(HOME, `joiner-${++joiners}`) })
  const times = { code: [], key: [] }
  for (let i = 0; i < N; i++) {
    for (const kind of ['code', 'key']) {
      const L = cli(['listen', '--invite', '--bootstrap', B], { env: ownHome() })
      const LK = await keyOf(L)
      const code = (await L.waitFor(/invite code: (\S+)/, 'err'))[1]
      const tag = `invite-${kind}-${i}`
      const t0 = performance.now()
      const c = cli(['connect', kind === 'code' ? code : LK, '--identity', idFile, '--bootstrap', B], { env: joinerHome() })
      c.child.stdin.end(`${tag}\n`)
      await L.waitFor(new RegExp(`\\] ${tag}\\n`))
      times[kind].push(performance.now() - t0)
      // Paired, not merely connected: the listener saved the joiner and says so.
      if (kind === 'code') await L.waitFor(/paired with \S+ \([0-9a-f]{64}\) by invite code: saved as contact/, 'err', 5000)
      c.child.kill()
      // Stopped before the next run, so its leaving does not overlap the next measurement.
      L.child.kill('SIGINT')
      await Promise.race([L.exited, new Promise((r) => setTimeout(r, 5000))])
    }
  }
  console.log(`  runs (ms): connect CODE ${sorted(times.code).map(fmt).join(' ')} | connect KEY ${sorted(times.key).map(fmt).join(' ')}`)
  row(`connect CODE → line at the listener vs connect KEY (median of ${N})`, median(times.code), median(times.key), 'ms', null, 'lower')

  // The CPace class compiled from src (dist/ does not export it), with the
  // inputs of a real run: the three words, the channel id of a rendezvous key,
  // a 64-byte Noise handshake hash for the session id.
  const { transform } = await import('esbuild')
  const source = fs.readFileSync(path.join(ROOT, 'src/core/invite/pake.ts'), 'utf8')
  const sodiumUrl = pathToFileURL(createRequire(import.meta.url).resolve('sodium-native')).href
  const js = (await transform(source, { loader: 'ts', format: 'esm', target: 'node20' })).code.replace(/from\s*["']sodium-native["']/, `from ${JSON.stringify(sodiumUrl)}`)
  const { CPace, lvCat } = await import(`data:text/javascript,${encodeURIComponent(js)}`)
  const RUNS = QUICK ? 200 : 1000
  const prs = Buffer.from('access-apology-pretty')
  const pake = []
  for (let i = 0; i < RUNS + 50; i++) {
    const ci = lvCat(Buffer.from('p2pchat-invite-v1'), randomBytes(32))
    const sid = randomBytes(64)
    const t0 = performance.now()
    const joiner = new CPace(true, prs, ci, sid)
    const inviter = new CPace(false, prs, ci, sid)
    const a = joiner.finish(inviter.share)
    const b = inviter.finish(joiner.share)
    const ms = performance.now() - t0
    if (!a.equals(b)) throw new Error('bench: the two sides of a CPace run derived different keys')
    if (i >= 50) pake.push(ms) // the first 50 warm up
  }
  const added = median(times.code) - median(times.key)
  note(
    `invite: CPace PAKE alone, both sides (median of ${RUNS})`,
    `${fmt(median(pake))} ms (p99 ${fmt(pct(pake, 0.99))} ms; pairing adds ${fmt(added)} ms to a connect)`,
    '',
    ''
  )
}

// docs/benchmarks.md is written by hand, except its results: a full run
// replaces what lies between these two lines, and nothing else.
const RESULTS_START = '<!-- bench:results:start -->'
const RESULTS_END = '<!-- bench:results:end -->'
const DOC = path.join(ROOT, 'docs/benchmarks.md')

/** The results of this run, as Markdown: the machine, then the two tables. */
function resultsBlock() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return [
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}.`,
    ...(AGAINST
      ? [
          `Rows "vs ${againstName()}" compare with that commit's build, measured in the same run (\`node bench/bench.mjs --against DIR\`,`,
          'DIR a built checkout of it, e.g. a git worktree).'
        ]
      : []),
    '',
    '| measurement | p2pchat | baseline | ratio | target | met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${fmt(r.base)} ${r.unit} | ${r.ratio.toFixed(2)} | ${r.target} | ${r.met} |`),
    '',
    '| measurement | result | target | met |',
    '| --- | --- | --- | --- |',
    ...absolute.map((a) => `| ${a.name} | ${a.value} | ${a.target} | ${a.met} |`)
  ].join('\n')
}

/**
 * `doc` with what lies between its RESULTS_START and RESULTS_END lines
 * replaced by `results`; everything else, the markers included, is kept as
 * it is. Throws when the markers are missing, repeated or out of order: the
 * hand-written text around them is never guessed at.
 */
function replaceResults(doc, results) {
  const start = doc.indexOf(RESULTS_START)
  const end = doc.indexOf(RESULTS_END)
  if (start === -1 || end === -1) throw new Error(`no ${start === -1 ? RESULTS_START : RESULTS_END} line`)
  if (doc.indexOf(RESULTS_START, start + 1) !== -1 || doc.indexOf(RESULTS_END, end + 1) !== -1) throw new Error('the results markers appear more than once')
  if (end < start) throw new Error(`${RESULTS_END} comes before ${RESULTS_START}`)
  return `${doc.slice(0, start + RESULTS_START.length)}\n${results.trim()}\n${doc.slice(end)}`
}

function writeReport() {
  // A partial run must not replace the full report.
  if (ONLY !== null) return console.log('\n(--only: no report written)')
  const results = resultsBlock()
  if (QUICK) {
    // Fewer runs: a quick look, never the documented results (BENCH.quick.md is gitignored).
    const quick = ['# Benchmarks (--quick)', '', 'Fewer runs than `npm run bench`; docs/benchmarks.md says what each row measures.', '', results, '']
    fs.writeFileSync(path.join(ROOT, 'BENCH.quick.md'), quick.join('\n'))
    return console.log('\nwrote BENCH.quick.md')
  }
  // Written whole or not at all: a crash mid-write must not cut the hand-written text.
  const tmp = `${DOC}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, replaceResults(fs.readFileSync(DOC, 'utf8'), results))
    fs.renameSync(tmp, DOC)
    console.log('\nwrote the results into docs/benchmarks.md')
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    // Nothing is lost: the results go to the terminal instead.
    console.error(`\nbench: docs/benchmarks.md not updated (${err.message}); the results were:\n\n${results}\n`)
  }
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 0 // benchmarks report; they do not fail
  })
  .finally(() => {
    for (const c of procs) c.kill('SIGKILL')
    fs.rmSync(HOME, { recursive: true, force: true })
    setTimeout(() => process.exit(0), 200)
  })
