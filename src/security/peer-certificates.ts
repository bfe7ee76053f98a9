// Which certificates may speak for a cluster member on a peer stream: issued by the cluster CA (the TLS handshake
// checked that, and its validity), made for a node (serverAuth, which client certificates never carry), and naming
// the member id as its CN or a DNS SAN (docs/design.md, principle 8).
import type { PeerCertificate } from 'node:tls';
import type { InboundPeerCall, PeerAuthenticator } from '../raft/transport.js';
import { SERVER_AUTH_OID } from './certificates.js';
import type { ServerTls } from './server-tls.js';

/** Why `cert` may not speak for member `peer`, or null when it may. */
export function peerCertificateRefusal(cert: PeerCertificate | undefined, peer: string): string | null {
  if (cert === undefined) return `${peer} presented no certificate verified by the cluster CA`;
  const commonName = typeof cert.subject?.CN === 'string' ? cert.subject.CN : '';
  const label = commonName === '' ? 'a certificate with no CN' : `the certificate of ${commonName}`;
  if (!(cert.ext_key_usage ?? []).includes(SERVER_AUTH_OID)) {
    return `${label} is a client certificate (no serverAuth usage) and cannot speak for member ${peer}`;
  }
  const dnsNames = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((name) => name.startsWith('DNS:'))
    .map((name) => name.slice(4));
  if (commonName !== peer && !dnsNames.includes(peer)) {
    return `${label} does not name member ${peer} (neither its CN nor a DNS subject alternative name)`;
  }
  return null;
}

/** Peer links over mutual TLS with `tls`'s material; an inbound stream's certificate must name the member it claims. */
export function tlsPeerAuthenticator(tls: ServerTls): PeerAuthenticator {
  return {
    channelCredentials: () => tls.channelCredentials(),
    refusal: (call: InboundPeerCall, peer: string) =>
      peerCertificateRefusal(call.getAuthContext().sslPeerCertificate, peer),
  };
}
