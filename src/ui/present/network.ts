import type { Diagnosis, NatType } from '../../core/dht/doctor.js'
import { formatBootstrap, PUBLIC_BOOTSTRAP, type NetworkConfig } from '../../core/dht/network.js'
import type { Output } from '../output.js'
import { timed, type DoctorEvent } from '../events.js'

/*
 * The words of joining a DHT, of `p2pchat bootstrap` (a private DHT) and of
 * `p2pchat doctor` (what this network allows).
 */

export const JOINING = 'joining the DHT…'

/** Where a DHT is, in words: its bootstrap nodes, or the public network. */
export function describeNetwork(network: NetworkConfig): string {
  return network.bootstrap ? formatBootstrap(network.bootstrap) : PUBLIC_BOOTSTRAP
}

/** What the other side must add to a printed command: ` --bootstrap LIST` on a private network, else nothing. */
export function bootstrapFlag(network: NetworkConfig): string {
  return network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
}

/** `p2pchat bootstrap` is up: the value alone on stdout (for scripts), the rest on stderr. */
export function presentPrivateNetwork(output: Output, value: string, nodes: number, host: string): void {
  output.message(value)
  output.notice(`private DHT running: 1 bootstrap node + ${nodes - 1} persistent nodes on ${host}`)
  output.notice(`use it with: --bootstrap ${value}   (or: export P2PCHAT_BOOTSTRAP=${value})`)
  output.notice('press Ctrl+C to stop')
}

/** `p2pchat bootstrap` on Ctrl+C (or a signal), once its nodes are closed. */
export const PRIVATE_DHT_STOPPED = 'private DHT stopped'

export const doctorStage = {
  joining: (where: string) => `joining the DHT through ${where}, to learn this host's public address and NAT type…`,
  stalled: 'still joining the DHT: waiting for bootstrap nodes to answer (is this machine online? is UDP blocked?)'
}

/** `p2pchat doctor`: the findings as a table, or with --json as one object. */
export function presentDiagnosis(output: Output, d: Diagnosis, where: string, json: boolean): void {
  const advice = adviceFor(d.natType, d.firewalled)
  if (json) {
    const event: DoctorEvent = { type: 'doctor', ok: true, bootstrap: where, ...d, advice }
    output.json(timed(event))
    return
  }
  const out = (label: string, value: string) => output.message(`${label.padEnd(16)}${value}`)
  out('bootstrap', `reachable (${where}) in ${d.bootstrapMs} ms; ${d.nodes} DHT nodes answered`)
  out('public address', d.publicAddress ?? 'unknown')
  const notes = [...(d.noNat ? ["no NAT: the public address is this machine's own"] : []), d.firewalled ? 'firewalled: unsolicited incoming UDP is dropped' : 'not firewalled']
  out('NAT type', `${d.natType} (${notes.join('; ')})`)
  out('what it means', advice)
}

/** What a NAT type means for connecting, in a sentence. */
function adviceFor(nat: NatType, firewalled = false): string {
  switch (nat) {
    case 'open':
      return firewalled
        ? 'no NAT, but a firewall on this machine (or in front of it) drops unsolicited incoming UDP: allow it in (e.g. ufw allow proto udp) to be reachable directly; until then peers must hole punch to it'
        : 'reachable directly: peers can connect to this machine without hole punching'
    case 'consistent':
      return 'direct connections likely: hole punching works with any peer whose NAT is open or consistent, and with most randomizing ones'
    case 'random':
      return 'relay likely needed: this NAT picks a new port per destination, so a peer behind another randomizing NAT can only be reached through a relay (--relay-through)'
    default:
      return 'the NAT type could not be determined (too few DHT nodes answered); try again'
  }
}
