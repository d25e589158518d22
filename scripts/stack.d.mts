// Types for scripts/stack.mjs (plain Node ESM, so `npm start` needs no build step).

export declare const ROOT: string;
export declare const DEMO_USER: string;
export declare const DEMO_APP_NAME: string;

export interface StackOptions {
	/** 127.0.0.1 port; default $PORT or 8787. It must be free (use freePort() in tests). */
	port?: number;
	/** Local state for D1 and Durable Objects; default .wrangler/state (where plain `wrangler dev` keeps it too). */
	persistTo?: string;
	/** Keep wrangler's output in memory instead of the terminal (shown if the start fails). */
	quiet?: boolean;
	/** Create/refresh the demo app, key and client token; default true. */
	demo?: boolean;
	/** How long to wait for GET / to answer; default 90 s. */
	readyTimeoutMs?: number;
	/** Start the local vendor simulator and point the Worker's vendor endpoints at it; default true. */
	simulator?: boolean;
	/** The simulator's port; default $SIM_PORT, else any free port. */
	simulatorPort?: number;
	/** Aborts a start in progress; its children are stopped before the promise rejects. */
	signal?: AbortSignal;
	/** The module to bundle and run; default scripts/local-entry.mjs (the benchmark wraps it with its counters). */
	entry?: string;
	/** Extra Worker variables, over .dev.vars. */
	vars?: Record<string, string>;
}

export interface DemoInfo {
	appId: string;
	/** True when this start created the app (first start, or its stored id was gone). */
	created: boolean;
	keyId: string;
	/** The app key secret minted by this start (all scopes); earlier starts' demo keys are revoked. */
	key: string;
	userId: string;
	/** A client token for userId, valid 24 h. */
	clientToken: string;
	clientTokenExpiresAt: string;
	/** Ids of demo-user's vendor devices (one per channel), when the simulator runs. */
	vendorDevices?: string[];
}

export interface Stack {
	baseUrl: string;
	port: number;
	/** Absolute persist dir; the demo app id is kept in <persistTo>/warbler-demo.json. */
	persistTo: string;
	/** ADMIN_TOKEN read from the .dev.vars this stack runs with. */
	adminToken: string;
	devVarsPath: string;
	/** The local vendor simulator, when started. */
	simulatorUrl: string | undefined;
	demo: DemoInfo | undefined;
	/** The runtime's pid (scripts/runtime.mjs), also the id of the process group that holds workerd. */
	pid: number | undefined;
	timings: { migrationsMs: number; readyMs: number; totalMs: number };
	/** Resolves when the runtime exits, on its own or through stop(). */
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
	/** wrangler's recent output (quiet mode only). */
	output(): string;
	/** SIGTERM to the whole process group, SIGKILL after 5 s; resolves once every process is gone. */
	stop(): Promise<void>;
}

export declare function startStack(options?: StackOptions): Promise<Stack>;
export declare function ensureDemo(
	baseUrl: string,
	adminToken: string,
	demoFile: string,
	options?: { warn?: (message: string) => void },
): Promise<DemoInfo>;
export declare function freePort(): Promise<number>;
export declare function readDevVars(path: string): Record<string, string>;
export declare function configureDemoVendors(baseUrl: string, key: string, simulatorUrl: string): Promise<string[]>;
