import { renderUnicodeCompact } from 'uqr'

/** The key as a QR code drawn with half-block characters (two modules per character row). */
export function renderQr(text: string): string {
  return renderUnicodeCompact(text, { ecc: 'L', border: 2 })
}
