import { useEffect, useState } from "preact/hooks";
import { api, type Session, whenSignedOut } from "./api.js";
import { type MessageKey, t } from "./i18n/index.js";
import { LivePanel } from "./live.js";
import { AppsPage } from "./pages/apps.js";
import { AutomationsPage } from "./pages/automations.js";
import { ComposePage } from "./pages/compose.js";
import { CredentialsPage } from "./pages/credentials.js";
import { KeysPage } from "./pages/keys.js";
import { MessagesPage } from "./pages/messages.js";
import { OverviewPage } from "./pages/overview.js";
import { SchedulesPage } from "./pages/schedules.js";
import { SettingsPage } from "./pages/settings.js";
import { SignIn } from "./pages/sign-in.js";
import { TagsPage } from "./pages/tags.js";
import { TemplatesPage } from "./pages/templates.js";
import { UsagePage } from "./pages/usage.js";
import { UsersPage } from "./pages/users.js";
import { WebhooksPage } from "./pages/webhooks.js";
import { adminApp, navigate, parseRoute, route, session, useLocale } from "./store.js";
import { LanguageSwitch } from "./ui/lang.js";

interface NavItem {
	page: string;
	label: MessageKey;
	/** Shown only to the admin, or only when an app is selected. */
	needs?: "admin" | "app";
}

export const NAV: NavItem[] = [
	{ page: "overview", label: "nav.overview", needs: "app" },
	{ page: "messages", label: "nav.messages", needs: "app" },
	{ page: "compose", label: "nav.compose", needs: "app" },
	{ page: "users", label: "nav.users", needs: "app" },
	{ page: "tags", label: "nav.tags", needs: "app" },
	{ page: "schedules", label: "nav.schedules", needs: "app" },
	{ page: "automations", label: "nav.automations", needs: "app" },
	{ page: "templates", label: "nav.templates", needs: "app" },
	{ page: "settings", label: "nav.settings", needs: "app" },
	{ page: "credentials", label: "nav.credentials", needs: "app" },
	{ page: "webhooks", label: "nav.webhooks", needs: "app" },
	{ page: "usage", label: "nav.usage", needs: "app" },
	{ page: "keys", label: "nav.keys" },
	{ page: "apps", label: "nav.apps", needs: "admin" },
];

const PAGES: Record<string, (p: { rest: string[] }) => preact.JSX.Element> = {
	overview: OverviewPage,
	messages: MessagesPage,
	compose: ComposePage,
	users: UsersPage,
	tags: TagsPage,
	schedules: SchedulesPage,
	automations: AutomationsPage,
	templates: TemplatesPage,
	settings: SettingsPage,
	credentials: CredentialsPage,
	webhooks: WebhooksPage,
	usage: UsagePage,
	keys: KeysPage,
	apps: AppsPage,
};

export function App() {
	useLocale();
	const current = session.use();
	const app = adminApp.use();
	const path = route.use();
	const [navOpen, setNavOpen] = useState(false);
	const [liveOpen, setLiveOpen] = useState(false);

	useEffect(() => {
		whenSignedOut(() => session.set(null));
		// The Worker says whether the page came with a session cookie; without one, sign in straight away.
		if (document.querySelector('meta[name="warbler-session"]')?.getAttribute("content") === "0") {
			session.set(null);
			return;
		}
		api<Session>("GET", "/v1/console/session").then(
			(s) => session.set(s),
			() => session.set(null),
		);
	}, []);

	if (current === undefined) return <p class="boot">{t("common.loading")}</p>;
	if (current === null) return <SignIn onSignedIn={(s) => session.set(s)} />;

	const hasApp = current.kind === "app" || app !== null;
	const { page, rest } = parseRoute(path);
	const visible = NAV.filter((n) => (n.needs === "admin" ? current.kind === "admin" : n.needs === "app" ? hasApp : true));
	const fallback = hasApp ? "overview" : "apps";
	const active = visible.some((n) => n.page === page) ? page : fallback;
	const Current = PAGES[active] ?? OverviewPage;

	const signOut = async () => {
		try {
			await api("DELETE", "/v1/console/session");
		} finally {
			adminApp.set(null);
			session.set(null);
			navigate("");
		}
	};

	return (
		<div class="shell">
			<a class="skip" href="#main">
				{t("common.skip")}
			</a>
			<header class="top">
				<button
					type="button"
					class="secondary menu"
					aria-expanded={navOpen}
					aria-controls="nav"
					onClick={() => setNavOpen(!navOpen)}
				>
					{t("common.menu")}
				</button>
				<strong class="brand">{t("app.title")}</strong>
				<span class="who">
					{current.kind === "admin"
						? app
							? t("app.adminOn", { app })
							: t("app.admin")
						: t("app.signedInApp", { app: current.app_id ?? "" })}
				</span>
				<button type="button" class="secondary" aria-expanded={liveOpen} onClick={() => setLiveOpen(!liveOpen)}>
					{t("live.toggle")}
				</button>
				<LanguageSwitch />
				<button type="button" class="secondary" onClick={signOut}>
					{t("app.signOut")}
				</button>
			</header>
			<div class="body">
				<nav id="nav" class={navOpen ? "open" : ""} aria-label={t("nav.label")}>
					<ul>
						{visible.map((n) => (
							<li key={n.page}>
								<a
									href={`/console/${n.page}`}
									aria-current={n.page === active ? "page" : undefined}
									onClick={(e) => {
										e.preventDefault();
										setNavOpen(false);
										navigate(`/${n.page}`);
									}}
								>
									{t(n.label)}
								</a>
							</li>
						))}
					</ul>
				</nav>
				<main id="main">
					<Current key={`${active}:${app ?? ""}`} rest={active === page ? rest : []} />
				</main>
				<LivePanel open={liveOpen} onClose={() => setLiveOpen(false)} />
			</div>
		</div>
	);
}
