import type { HandshakePayload } from 'hyperdht'

/**
 * For a server's firewall: makes hyperdht answer a handshake it would
 * otherwise drop. A payload without a data channel (`udx`) gets an error
 * reply (ERROR.ABORTED, which the dialer sees at once as SERVER_ERROR) and
 * no connection is set up (hyperdht 6.32.0 to 6.34.0 lib/server.js compute
 * the reply from the payload right after the firewall). A silent drop would
 * leave the dialer waiting ~8 s for PEER_CONNECTION_FAILED, which reads like
 * a dead peer. Returns what the firewall returns.
 */
export function answerRefusal(payload: HandshakePayload | null): boolean {
  if (!payload || typeof payload !== 'object') return true // cannot answer: drop
  payload.udx = null
  return false
}
