// A real, throwaway PostgreSQL server for tests, and Vault's database secrets engine
// pointed at it. The server binaries come from Debian's `postgresql` package
// (scripts/ensure-postgres.sh installs it when missing); each startPostgres() makes its
// own cluster in a temp dir, runs it as the `postgres` OS user (the server refuses to run
// as root), listens on 127.0.0.1 only with password (SCRAM) authentication, and is
// removed with its data when stop() is called or the test process dies, even by SIGKILL.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, runEnsureScript } from './local.js';
import type { VaultServer } from './vault-server.js';

export interface PgServer {
  host: '127.0.0.1';
  port: number;
  /** Superuser made by initdb. */
  superuser: string;
  /** Its password (SCRAM over TCP). */
  password: string;
  /** The database the helpers use: PUBLIC has no CONNECT on it, so a role needs a GRANT. */
  database: string;
  /** server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)". */
  version: string;
  /** The cluster's temp dir (data, socket, log); gone after stop(). */
  dir: string;
  /** Server log (stdout/stderr of postgres), inside dir. */
  logFile: string;
  /** postgresql://user:password@127.0.0.1:port/<database>?sslmode=disable; the superuser by default. */
  connectionUrl(user?: string, password?: string): string;
  /** Runs one statement as the superuser (a small pool, database `database`). */
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Opens a fresh connection as user/password to `database` and runs SELECT 1. False when
   * the server refuses the login (wrong or expired password, no such role, NOLOGIN, no
   * CONNECT privilege); other failures (server down) throw.
   */
  canLogin(user: string, password: string): Promise<boolean>;
  roleExists(name: string): Promise<boolean>;
  /** Immediate shutdown, waits for the server to exit, removes dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Default 30 s (after the binaries are there; a cold install comes first). */
  readyTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DATABASE = 'app';

// The shell holds our end of a stdin pipe; when this process goes away for any reason
// (even SIGKILL) the pipe closes, `cat` returns, and the server gets SIGQUIT (PostgreSQL's
// immediate shutdown, which also ends its backends), SIGKILL if it is still there after
// 5 s, and the temp dir is removed. The shell itself exits when the server does, which is
// how an early crash is noticed. (Same pattern as kube-apiserver.ts.)
const WATCHDOG =
  'dir=$1; shift; exec 3<&0; "$@" </dev/null 3<&- & pid=$!; ' +
  '{ cat >/dev/null; kill -QUIT $pid 2>/dev/null; i=0; ' +
  'while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ' +
  'kill -9 $pid 2>/dev/null; rm -rf "$dir"; } <&3 & wait $pid';

let bindir: Promise<string> | undefined;

/** Memoised: the script runs once per test process (it locks against other processes itself). */
function ensurePostgres(): Promise<string> {
  bindir ??= runEnsureScript('ensure-postgres.sh')
    .then((lines) => lines[lines.length - 1]!)
    .catch((err: unknown) => {
      bindir = undefined; // let a later call try again
      throw err;
    });
  return bindir;
}

interface Identity {
  /** Prefix that runs a command as the postgres user (empty when we are not root). */
  prefix: string[];
  uid?: number;
  gid?: number;
}

function identity(): Identity {
  if (process.getuid?.() !== 0) return { prefix: [] }; // not root: the server may run as we are
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const uid = id('-u');
  const gid = id('-g');
  // setpriv execs the command (no process of its own in between, unlike runuser/su), so
  // the watchdog's signals reach the postmaster itself.
  return { prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--'], uid, gid };
}

function run(cmd: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd[0]!, cmd.slice(1), { ...opts, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const bin = await ensurePostgres();
  const who = identity();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vaultapp-pg-'));
  let server: Launched | undefined;
  let pool: pg.Pool | undefined;

  try {
    const dataDir = path.join(dir, 'data');
    const logFile = path.join(dir, 'postgres.log');
    const pwFile = path.join(dir, 'pwfile');
    const password = randomBytes(18).toString('base64url');
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    writeFileSync(logFile, '');
    if (who.uid !== undefined && who.gid !== undefined) {
      for (const p of [dir, dataDir, pwFile, logFile]) chownSync(p, who.uid, who.gid);
    }
    chmodSync(dir, 0o700);

    // Locale-free settings; no LANG/LC_* of the caller reach initdb or the server.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: dir,
      LC_ALL: 'C',
      TZ: 'UTC',
    };
    await run(
      [
        ...who.prefix,
        path.join(bin, 'initdb'),
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync', // throwaway data
        '--no-instructions',
      ],
      { cwd: dir, env },
    );
    rmSync(pwFile);
    // Password auth everywhere: SCRAM over TCP from loopback, and over the socket.
    writeFileSync(path.join(dataDir, 'pg_hba.conf'), 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n');

    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    // A free port can be taken by someone else before the server binds it: try again then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      server = launch(who, bin, dir, logFile, env, [
        `-D${dataDir}`,
        `-clisten_addresses=${HOST}`,
        `-cport=${port}`,
        `-cunix_socket_directories=${dir}`,
        '-cfsync=off',
        '-csynchronous_commit=off',
        '-cfull_page_writes=off',
        '-cshared_buffers=16MB',
        '-cmax_connections=50',
        '-clogging_collector=off',
        '-cssl=off',
      ]);
      const probe = () => connectOnce({ host: HOST, port, user: SUPERUSER, password, database: 'postgres' });
      let client: pg.Client | undefined;
      while (!client) {
        if (server.exitCode !== undefined) break;
        try {
          client = await probe();
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`not accepting connections after ${opts.readyTimeoutMs ?? 30_000} ms: ${(err as Error).message}`);
          await sleep(100);
        }
      }
      if (!client) {
        await server.exited;
        if (attempt < 3 && /could not bind|already in use/i.test(readText(logFile))) continue;
        throw new Error(`postgres exited with code ${server.exitCode}`);
      }

      let version: string;
      try {
        version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
        await client.query(`CREATE DATABASE ${DATABASE}`);
        await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${DATABASE} FROM PUBLIC`);
      } finally {
        await client.end().catch(() => {});
      }

      const p = new pg.Pool({
        host: HOST,
        port,
        user: SUPERUSER,
        password,
        database: DATABASE,
        max: 4,
        idleTimeoutMillis: 1_000,
        allowExitOnIdle: true, // a forgotten stop() must not keep the test process alive
      });
      p.on('error', () => {}); // an idle connection ended by a shutdown is not a test failure
      pool = p;
      const launched = server;
      let stopping: Promise<void> | undefined;

      return {
        host: HOST,
        port,
        superuser: SUPERUSER,
        password,
        database: DATABASE,
        version,
        dir,
        logFile,
        connectionUrl: (user = SUPERUSER, pw = password) =>
          `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${HOST}:${port}/${DATABASE}?sslmode=disable`,
        query: (sql, params) => p.query(sql, params as unknown[] | undefined),
        async canLogin(user, pw) {
          let client: pg.Client;
          try {
            client = await connectOnce({ host: HOST, port, user, password: pw, database: DATABASE });
          } catch (err) {
            if (isLoginRefused(err)) return false;
            throw err;
          }
          try {
            await client.query('SELECT 1');
            return true;
          } finally {
            await client.end().catch(() => {});
          }
        },
        async roleExists(name) {
          const res = await p.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
          return res.rowCount === 1;
        },
        stop() {
          stopping ??= (async () => {
            await p.end().catch(() => {});
            await launched.stop();
            rmSync(dir, { recursive: true, force: true });
          })();
          return stopping;
        },
      };
    }
  } catch (err) {
    const log = path.join(dir, 'postgres.log');
    const tail = `--- ${log}, last lines:\n${tailOf(log)}`;
    await pool?.end().catch(() => {});
    await server?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${tail}`, { cause: err });
  }
}

// SQLSTATEs of a refused login: 28000 invalid_authorization_specification (NOLOGIN, no
// pg_hba entry), 28P01 invalid_password (wrong or expired password, unknown role),
// 42501 insufficient_privilege (no CONNECT on the database).
function isLoginRefused(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '28000' || code === '28P01' || code === '42501';
}

async function connectOnce(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {}); // e.g. terminated by a revocation; queries still reject
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

interface Launched {
  child: ChildProcess;
  exited: Promise<void>;
  exitCode?: number | null;
  stop(): Promise<void>;
}

function launch(who: Identity, bin: string, dir: string, logFile: string, env: NodeJS.ProcessEnv, args: string[]): Launched {
  const fd = openSync(logFile, 'a');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', dir, ...who.prefix, path.join(bin, 'postgres'), ...args], {
    stdio: ['pipe', fd, fd],
    cwd: dir,
    env,
  });
  closeSync(fd);
  child.unref();
  (child.stdin as unknown as net.Socket).unref();
  const launched: Launched = {
    child,
    exited: new Promise((resolve) => {
      child.on('exit', (code) => {
        launched.exitCode = code;
        resolve();
      });
    }),
    async stop() {
      if (launched.exitCode === undefined) {
        child.ref(); // awaiting the exit must keep the event loop alive
        child.stdin?.end(); // the watchdog shuts the server down
      }
      await launched.exited;
    },
  };
  return launched;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tailOf(file: string, lines = 40): string {
  return readText(file).trimEnd().split('\n').slice(-lines).join('\n') || '(no log)';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DatabaseSecretsOptions {
  /** Vault role under database/roles/; added to the connection's allowed_roles. */
  role: string;
  /** e.g. '30s', '1m'. */
  defaultTtl: string;
  maxTtl: string;
  mount?: 'database';
}

/** Name of the Vault connection (database/config/<name>) that enableDatabaseSecrets writes. */
export const DATABASE_CONNECTION = 'vaultapp-pg';
/** A tiny table in pg.database that every role of enableDatabaseSecrets may SELECT from. */
export const PROBE_TABLE = 'vaultapp_probe';

/**
 * Enables the database secrets engine (once; a second call adds a role), connects it to
 * `pgs` as its superuser, and writes a role whose credentials are LOGIN roles valid until
 * the lease expires, with CONNECT on pgs.database and SELECT on PROBE_TABLE. Revoking a
 * lease ends the role's sessions and drops the role.
 */
export async function enableDatabaseSecrets(vault: VaultServer, pgs: PgServer, opts: DatabaseSecretsOptions): Promise<void> {
  const mount = opts.mount ?? 'database';

  const mounted = await vault.request('POST', `sys/mounts/${mount}`, { type: 'database' });
  if (mounted.status >= 300 && !(mounted.status === 400 && /already in use/.test(JSON.stringify(mounted.body)))) {
    throw new Error(`POST sys/mounts/${mount} -> ${mounted.status} ${JSON.stringify(mounted.body)}`);
  }

  await pgs.query(`CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (id int PRIMARY KEY, note text NOT NULL)`);
  await pgs.query(`INSERT INTO ${PROBE_TABLE} VALUES (1, 'hello from vaultapp') ON CONFLICT (id) DO NOTHING`);

  // Keep the roles of earlier calls allowed.
  const existing = await vault.request('GET', `${mount}/config/${DATABASE_CONNECTION}`);
  const allowed = new Set<string>(existing.status === 200 ? (existing.body?.data?.allowed_roles ?? []) : []);
  allowed.add(opts.role);

  await ok(vault, 'POST', `${mount}/config/${DATABASE_CONNECTION}`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${pgs.host}:${pgs.port}/${pgs.database}?sslmode=disable`,
    allowed_roles: [...allowed],
    username: pgs.superuser,
    password: pgs.password,
    verify_connection: true,
  });

  await ok(vault, 'POST', `${mount}/roles/${opts.role}`, {
    db_name: DATABASE_CONNECTION,
    creation_statements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`,
      `GRANT CONNECT ON DATABASE "${pgs.database}" TO "{{name}}"`,
      `GRANT SELECT ON ${PROBE_TABLE} TO "{{name}}"`,
    ],
    // Renewal uses the plugin's default: ALTER ROLE ... VALID UNTIL '{{expiration}}'.
    revocation_statements: [
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}'`,
      `REVOKE ALL ON ${PROBE_TABLE} FROM "{{name}}"`,
      `REVOKE ALL ON DATABASE "${pgs.database}" FROM "{{name}}"`,
      `DROP ROLE IF EXISTS "{{name}}"`,
    ],
    default_ttl: opts.defaultTtl,
    max_ttl: opts.maxTtl,
  });
}

async function ok(vault: VaultServer, method: string, reqPath: string, body?: unknown) {
  const res = await vault.request(method, reqPath, body);
  if (res.status >= 300) throw new Error(`${method} ${reqPath} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}
