// npm run bench: measures the built CLI against baselines measured in the same
// run, prints a table of ratios and writes BENCH.md. It reports; it never fails.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import DHT from 'hyperdht'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = path.join(ROOT, 'bin/p2pchat.js')
const RAW = path.join(ROOT, 'bench/raw.mjs')
const QUICK = process.argv.includes('--quick')
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pchat-bench-'))
const ENV = { ...process.env, HOME, XDG_CONFIG_HOME: path.join(HOME, 'cfg'), NO_COLOR: '1' }
const procs = new Set()

function start(cmd, args, { stdin = 'pipe' } = {}) {
  const child = spawn(cmd, args, { env: ENV, stdio: [stdin, 'pipe', 'pipe'] })
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
const raw = (args, opts) => start(process.execPath, [RAW, ...args], opts)
const sorted = (a) => [...a].sort((x, y) => x - y)
const pct = (a, q) => sorted(a)[Math.min(a.length - 1, Math.floor((a.length - 1) * q))]
const median = (a) => pct(a, 0.5)
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
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
  const nodeT = await timeRuns(process.execPath, ['-e', '0'], N)
  const helpT = await timeRuns(process.execPath, [BIN, '--help'], N)
  const keyFile = path.join(HOME, 'bench-id.json')
  const keygenT = await timeRuns(process.execPath, [BIN, 'keygen', '--force', '--out', keyFile], N)
  row('startup: p2pchat --help (median)', median(helpT), median(nodeT), 'ms', 1.3, 'lower')
  row('startup: p2pchat keygen (median)', median(keygenT), median(nodeT), 'ms', null, 'lower')

  // A private DHT, as `p2pchat bootstrap` runs it.
  const boot = cli(['bootstrap', '--port', '0'])
  const B = (await boot.waitFor(/^(\S+)\n/))[1]
  const listen = (extra = []) => cli(['listen', '--bootstrap', B, '--rate-lines', '0', '--rate-bytes', '0', ...extra])
  const keyOf = async (p) => (await p.waitFor(/listening on ([0-9a-f]{64})/, 'err'))[1]

  // 2. Time to first line: p2pchat connect vs a raw client, into the same listener.
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

  // 3. Throughput, connect → listen in pipe mode vs raw client → raw sink.
  for (const [lines, size] of QUICK ? [[20000, 64]] : [[100000, 64], [1000, 60 * 1024]]) {
    const payload = Buffer.alloc(lines * size, 0x61)
    for (let i = size - 1; i < payload.length; i += size) payload[i] = 0x0a
    // Both receivers print what arrives on stdout (the p2pchat listener with a
    // "[abcd1234] " prefix per line); the bench times first byte → last line
    // on that stdout, the same way for both.
    const receive = (proc, total) =>
      new Promise((resolve) => {
        let first = 0
        let count = 0
        proc.child.stdout.on('data', (d) => {
          if (!first) first = performance.now()
          for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) count++
          if (count >= total) resolve(performance.now() - first)
        })
      })
    const L2 = listen()
    const K2 = await keyOf(L2)
    const cliDone = receive(L2, lines)
    const c = cli(['connect', K2, '--bootstrap', B])
    c.child.stdin.end(payload)
    const cliMs = await cliDone
    const printer = raw(['print', B])
    const SK = (await printer.waitFor(/listening ([0-9a-f]{64})/, 'err'))[1]
    const rawDone = receive(printer, lines)
    const rc = raw(['client', B, SK])
    rc.child.stdin.end(payload)
    const rawMs = await rawDone
    const mb = payload.length / 1024 / 1024
    row(`throughput ${lines} × ${size} B (MB/s)`, mb / (cliMs / 1000), mb / (rawMs / 1000), 'MB/s', 0.9, 'higher')
    row(`throughput ${lines} × ${size} B (lines/s)`, lines / (cliMs / 1000), lines / (rawMs / 1000), 'l/s', 0.9, 'higher')
    L2.child.kill('SIGINT')
    printer.child.kill()
  }

  // 4. Latency: one line's round trip through an echo peer.
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

  // 5. Fan-out: one typed line to 10, 50, 100 peers; listener memory per peer.
  const [bh, bp] = B.split(':')
  const node = new DHT({ bootstrap: [{ host: bh, port: Number(bp) }], host: '127.0.0.1' })
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

  // 6. A room: 20 peers each sending 100 lines/s for 10 s (default rate limits).
  const R = cli(['listen', '--bootstrap', B])
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
  await node.destroy()

  for (const c of procs) c.kill('SIGKILL')
  writeReport()
}

function writeReport() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const lines = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}.`,
    'Every ratio compares p2pchat with a baseline measured in the same run (`node -e 0`, or raw hyperdht',
    'streams from `bench/raw.mjs` on the same private loopback DHT). Reproduce: `npm install && npm run bench`.',
    '',
    '| measurement | p2pchat | baseline | ratio | target | met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${fmt(r.base)} ${r.unit} | ${r.ratio.toFixed(2)} | ${r.target} | ${r.met} |`),
    '',
    '| measurement | result | target | met |',
    '| --- | --- | --- | --- |',
    ...absolute.map((a) => `| ${a.name} | ${a.value} | ${a.target} | ${a.met} |`),
    ''
  ]
  const notes = fs.existsSync(path.join(ROOT, 'bench/NOTES.md')) ? fs.readFileSync(path.join(ROOT, 'bench/NOTES.md'), 'utf8') : ''
  fs.writeFileSync(path.join(ROOT, QUICK ? 'BENCH.quick.md' : 'BENCH.md'), lines.join('\n') + (notes ? '\n' + notes : ''))
  console.log(`\nwrote ${QUICK ? 'BENCH.quick.md' : 'BENCH.md'}`)
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
