/**
 * What may import what (docs/architecture.md). Checked by `npm run lint:imports`, part of `npm test`.
 *
 *   protocol/         wire types shared with the SDKs: imports nothing of the project
 *   core/             domain: may import protocol/, never workers/, durable-objects/ or Hono
 *   durable-objects/  thin classes over core/: may import core/ and protocol/
 *   workers/          entry points (Hono app, routes, schemas, queue consumers, cron): anything
 */
module.exports = {
	forbidden: [
		{
			name: "no-cycles",
			severity: "error",
			comment: "An import cycle makes load order and ownership unclear; break it with a lower module.",
			from: {},
			to: { circular: true },
		},
		{
			name: "lower-layers-never-import-workers",
			severity: "error",
			comment: "core/, durable-objects/ and protocol/ sit under workers/ and must not reach up into it.",
			from: { path: "^(core|durable-objects|protocol)/" },
			to: { path: "^workers/" },
		},
		{
			name: "core-never-imports-durable-objects",
			severity: "error",
			comment: "core/ talks to Durable Objects through stubs typed by Env (core/objects/), never by importing a class.",
			from: { path: "^core/" },
			to: { path: "^durable-objects/" },
		},
		{
			name: "protocol-imports-nothing",
			severity: "error",
			comment: "protocol/ is shared with the SDKs: it imports nothing of the project and no package.",
			from: { path: "^protocol/" },
			to: { pathNot: "^protocol/" },
		},
		{
			name: "core-has-no-http",
			severity: "error",
			comment: "The domain layer has no Hono and no HTTP in it; routes and OpenAPI live in workers/.",
			from: { path: "^(core|durable-objects)/" },
			to: { path: "node_modules/(hono|@hono)/" },
		},
		{
			name: "sdks-stand-alone",
			severity: "error",
			comment: "The SDKs are published on their own: they may share protocol/ types but nothing else.",
			from: { path: "^sdk/" },
			to: { path: "^(core|workers|durable-objects)/" },
		},
	],
	options: {
		doNotFollow: { path: "node_modules" },
		tsPreCompilationDeps: true,
		tsConfig: { fileName: "tsconfig.json" },
		enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
	},
};
