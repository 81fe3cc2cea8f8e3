// Text rendering of the root ceremony's results (--json prints the same objects as JSON).
// Loaded inside actions: it pulls in the certificate code.
import { colonHex } from '../src/ca/inspect.js';
import type { InitResult } from '../src/ceremony/init.js';
import type { RotateResult } from '../src/ceremony/rotate.js';
import type { SignIntermediateResult } from '../src/ceremony/sign-intermediate.js';
import type { RepairResult, TranscriptVerification } from '../src/ceremony/transcript.js';

export function initText(r: InitResult): string {
  return [
    `root created in ${r.dir}`,
    `  subject:    ${r.subject}`,
    `  serial:     ${r.serial}`,
    `  valid:      ${r.notBefore} → ${r.notAfter}`,
    `  key:        ${r.keyAlgorithm} (encrypted: root.key.pem, mode 0600)`,
    `  permitted:  ${r.permittedDns.map((d) => 'DNS:' + d).join(', ')}`,
    `  excluded:   ${r.excludedIp.map((i) => 'IP:' + i).join(', ') || '-'}`,
    `  SHA-256:    ${colonHex(r.sha256)}`,
    ...(r.shares
      ? [
          `  passphrase split ${r.shares.threshold}-of-${r.shares.total}; give one file to each custodian and delete it here:`,
          ...r.shares.files.map((f) => '    ' + f),
        ]
      : []),
    `  transcript: transcript.jsonl (head ${r.transcriptHead.slice(0, 16)}…); write the SHA-256 above on paper.`,
  ].join('\n');
}

export function signedText(e: SignIntermediateResult): string {
  return [
    `intermediate signed: ${e.out}`,
    `  subject:   ${e.subject}`,
    `  serial:    ${e.serial}`,
    `  valid:     ${e.notBefore} → ${e.notAfter}`,
    `  permitted: ${e.permittedDns.map((d) => 'DNS:' + d).join(', ')}`,
    `  key (SPKI) SHA-256: ${colonHex(e.spkiSha256)}  (compare with what "nixca issuer init" printed)`,
    `  SHA-256:   ${colonHex(e.sha256)}`,
  ].join('\n');
}

export function transcriptText(d: TranscriptVerification, rootSubject: string): string {
  return d.valid
    ? [`transcript OK: ${d.entries} entries signed by ${rootSubject} (SHA-256 ${colonHex(d.root)})`, ...d.events.map((e) => `  ${e.seq}  ${e.time}  ${e.event}`), `  head: ${d.head}`].join('\n')
    : ['transcript FAILED:', ...d.problems.map((p) => `  line ${p.line}: ${p.reason}`)].join('\n');
}

export function rotateText(d: RotateResult): string {
  if (!d.cross) return [initText(d.newRoot), 'No cross-certificate: sign the issuer CSR with both roots during the overlap and distribute both root.pem files.'].join('\n');
  return [
    initText(d.newRoot),
    `cross-certificate (current root → new root): ${d.cross.path}`,
    `  serial:  ${d.cross.serial}`,
    `  valid until ${d.cross.notAfter}`,
    `  SHA-256: ${colonHex(d.cross.sha256)}`,
    'Next: distribute the new root.pem next to the old one (trust both), sign a new intermediate with the new root, and retire the old root when nothing chains to it.',
  ].join('\n');
}

export function repairText(r: RepairResult): string {
  if (!r.repaired) return `nothing to repair in ${r.dir}: the ledger and the certificate copies agree with the transcript`;
  const a = r.adopted!;
  return [
    `repaired ${r.dir}; recorded in the transcript (root.repair, head ${r.transcriptHead.slice(0, 16)}…):`,
    ...r.findings.map((f) => `  found: ${f}`),
    ...a.intermediates.map((i) => `  recorded intermediate ${i.serial} (${i.subject}) found on disk; revoke it if nobody should use it`),
    ...a.crossCertificates.map((c) => `  recorded cross-certificate ${c.serial} (${c.subject}) found on disk`),
    ...a.revocations.map((v) => `  recorded the revocation of ${v.serial} (${v.reason}) the ledger held`),
    ...(a.crlNumber !== null ? [`  CRL numbers up to ${a.crlNumber} are taken`] : []),
    ...r.removed.map((x) => `  removed ${x.file}, a write that never finished (SHA-256 ${colonHex(x.sha256)})`),
    '  the ledger was rebuilt from the transcript; check with: nixca root transcript verify',
  ].join('\n');
}
