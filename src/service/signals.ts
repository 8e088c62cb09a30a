/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function waitForShutdown(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/**
 * Calls `reload` on every SIGHUP (instead of Node's default, which kills the process); returns
 * what removes the handler.
 */
export function onReloadSignal(reload: () => void): () => void {
  const handler = () => reload();
  process.on('SIGHUP', handler);
  return () => void process.off('SIGHUP', handler);
}
