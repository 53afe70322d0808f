import { readFileSync } from 'node:fs';
import { registerSecret } from '../logging/logger';

/**
 * AMI settings from the environment:
 *   AMI_HOST (default 127.0.0.1), AMI_PORT (default 5038), AMI_USER,
 *   AMI_PASSWORD or AMI_PASSWORD_FILE (a file holding only the secret; one trailing newline is
 *   ignored). AMI is optional: without AMI_USER this returns undefined (presence from AMI off).
 * The password is registered with the logger's redaction as soon as it is read.
 */
export interface AmiConfig {
  host: string;
  port: number;
  username: string;
  password: string;
}

export class AmiConfigError extends Error {
  override name = 'AmiConfigError';
}

export function amiConfigFromEnv(env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): AmiConfig | undefined {
  const username = env.AMI_USER?.trim();
  if (!username) return undefined;
  const host = env.AMI_HOST?.trim() || '127.0.0.1';
  const portText = env.AMI_PORT?.trim() || '5038';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AmiConfigError(`AMI_PORT must be a TCP port, got ${JSON.stringify(portText)}`);
  let password = env.AMI_PASSWORD;
  if (password === undefined || password === '') {
    const file = env.AMI_PASSWORD_FILE?.trim();
    if (!file) throw new AmiConfigError('AMI_USER is set but neither AMI_PASSWORD nor AMI_PASSWORD_FILE is');
    try {
      password = readFile(file).replace(/\r?\n$/, '');
    } catch (err) {
      // The path is not secret; the content is never part of the message.
      throw new AmiConfigError(`AMI_PASSWORD_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!password) throw new AmiConfigError(`AMI_PASSWORD_FILE ${file} is empty`);
  }
  registerSecret(password);
  return { host, port, username, password };
}
