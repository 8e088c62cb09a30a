/**
 * A DNS server on 127.0.0.1 for tests (dns-packet does the wire format): answers SRV, A and AAAA
 * questions from a zone the test sets and may change, NXDOMAIN otherwise, and counts questions.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import * as dnsPacket from 'dns-packet';

export interface Zone {
  srv?: Record<string, { target: string; port: number; priority?: number; weight?: number }[]>;
  a?: Record<string, string[]>;
}

export class DnsStub {
  private readonly socket = createSocket('udp4');
  /** Questions asked, as `TYPE name`. */
  readonly questions: string[] = [];

  private constructor(public zone: Zone) {
    this.socket.on('message', (bytes, from) => this.answer(bytes, from));
  }

  static async start(zone: Zone): Promise<DnsStub> {
    const stub = new DnsStub(zone);
    stub.socket.bind(0, '127.0.0.1');
    await once(stub.socket, 'listening');
    return stub;
  }

  /** `127.0.0.1:port`, for Resolver.setServers. */
  get server(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }

  private answer(bytes: Buffer, from: { address: string; port: number }): void {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(bytes);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    this.questions.push(`${question.type} ${question.name}`);
    const answers: dnsPacket.Answer[] = [];
    if (question.type === 'SRV')
      for (const r of this.zone.srv?.[question.name] ?? [])
        answers.push({
          type: 'SRV',
          name: question.name,
          ttl: 5,
          data: { target: r.target, port: r.port, priority: r.priority ?? 10, weight: r.weight ?? 1 },
        });
    if (question.type === 'A')
      for (const address of this.zone.a?.[question.name] ?? [])
        answers.push({ type: 'A', name: question.name, ttl: 5, data: address });
    const known = answers.length > 0 || question.name in (this.zone.a ?? {}) || question.name in (this.zone.srv ?? {});
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions: [question],
      answers,
    });
    this.socket.send(reply, from.port, from.address);
  }

  async close(): Promise<void> {
    this.socket.close();
    await once(this.socket, 'close');
  }
}
