import { SaturnProcess } from './saturn-process.js';

/**
 * A master on 127.0.0.1 (UDP `port`, 0: ephemeral) serving /status on an ephemeral HTTP port, with
 * JSON diagnostics; resolves once both listen, with their addresses.
 */
export async function startMasterProcess(key: string, extra: string[] = [], port = 0) {
  const master = SaturnProcess.start([
    '--listen-addr',
    `127.0.0.1:${port}`,
    '--metrics-addr',
    '127.0.0.1:0',
    '--hmac-key',
    key,
    '--log-format',
    'json',
    ...extra,
  ]);
  const udp = await master.waitForLog('master listening');
  const http = await master.waitForLog('http listening');
  const statusUrl = http.url as string;
  return { master, udpAddr: udp.addr as string, statusUrl, base: statusUrl.replace(/\/status$/, '') };
}

/** A slave of `masterAddr` on an ephemeral port, checking every 200 ms unless `extra` says otherwise, JSON diagnostics. */
export function startSlaveProcess(
  masterAddr: string,
  key: string,
  name: string,
  extra: string[] = [],
  options: Parameters<typeof SaturnProcess.start>[1] = {},
): SaturnProcess {
  return SaturnProcess.start(
    [
      '--master-addr',
      masterAddr,
      '--listen-addr',
      '127.0.0.1:0',
      '--hmac-key',
      key,
      '--name',
      name,
      '--interval',
      '200ms',
      '--log-format',
      'json',
      ...extra,
    ],
    options,
  );
}
