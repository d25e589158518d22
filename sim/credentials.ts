/**
 * The simulator's own test credentials, generated at start. The JSON shapes are exactly the bodies of
 * Warbler's `PUT /v1/credentials/{channel}`, so a local stack can be configured against the simulator.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, randomInt, randomUUID } from "node:crypto";

export interface SimCredentials {
	apns: { team_id: string; key_id: string; private_key: string; bundle_id: string; environment: "sandbox" };
	fcm: { service_account: { project_id: string; client_email: string; private_key: string; token_uri: string } };
	hms: { app_id: string; client_id: string; client_secret: string };
	xiaomi: { app_secret: string; package_name: string };
	oppo: { app_key: string; master_secret: string };
	vivo: { app_id: string; app_key: string; app_secret: string };
	honor: { app_id: string; client_id: string; client_secret: string };
	meizu: { app_id: string; app_secret: string };
}

/** Credentials plus the public halves the simulator verifies signatures with. */
export interface SimKeys {
	credentials: SimCredentials;
	apnsPublicKey: KeyObject;
	fcmPublicKey: KeyObject;
}

export const DEMO_BUNDLE_ID = "dev.warbler.demo";
export const FCM_TOKEN_PATH = "/fcm/token";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Apple team and key ids are 10 upper-case alphanumerics. */
function appleId(): string {
	let id = "";
	for (let i = 0; i < 10; i++) id += ALNUM[randomInt(ALNUM.length)];
	return id;
}

function digits(n: number): string {
	let out = "";
	for (let i = 0; i < n; i++) out += String(randomInt(10));
	return out;
}

export function generateCredentials(baseUrl: string, bundleId = DEMO_BUNDLE_ID): SimKeys {
	// APNs: an ES256 (P-256) key, delivered by Apple as a PKCS#8 .p8 file.
	const apns = generateKeyPairSync("ec", { namedCurve: "P-256" });
	// FCM: a service account's RSA key, PKCS#8 PEM as in the JSON Google hands out.
	const fcm = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const projectId = `warbler-sim-${digits(6)}`;
	return {
		apnsPublicKey: apns.publicKey,
		fcmPublicKey: fcm.publicKey,
		credentials: {
			apns: {
				team_id: appleId(),
				key_id: appleId(),
				private_key: apns.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
				bundle_id: bundleId,
				environment: "sandbox",
			},
			fcm: {
				service_account: {
					project_id: projectId,
					client_email: `firebase-adminsdk-sim@${projectId}.iam.gserviceaccount.com`,
					private_key: fcm.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
					token_uri: `${baseUrl}${FCM_TOKEN_PATH}`,
				},
			},
			// Distinct app id and OAuth client id, so a mix-up between the two shows.
			hms: { app_id: `10${digits(7)}`, client_id: `11${digits(7)}`, client_secret: randomBytes(32).toString("hex") },
			xiaomi: { app_secret: randomBytes(18).toString("base64"), package_name: bundleId },
			// The shapes each console shows: OPPO AppKey + MasterSecret (hex), vivo numeric AppID + UUID
			// AppKey/AppSecret, Honor numeric App ID + Client ID/Secret, Meizu numeric App ID + App Secret.
			oppo: { app_key: randomBytes(12).toString("hex"), master_secret: randomBytes(16).toString("hex") },
			vivo: { app_id: `1${digits(5)}`, app_key: randomUUID(), app_secret: randomUUID() },
			honor: {
				app_id: `10${digits(7)}`,
				client_id: randomBytes(10).toString("hex"),
				client_secret: randomBytes(32).toString("hex"),
			},
			meizu: { app_id: `11${digits(4)}`, app_secret: randomBytes(16).toString("hex") },
		},
	};
}
