import { Page } from "../ui/common.js";
import { CollectionEditor } from "../ui/json-editor.js";

const EXAMPLE = {
	name: "welcome",
	trigger: { event: "signed_up" },
	delay_seconds: 3600,
	message: { content: { type: "text", title: "Welcome", body: "Glad you are here, {{user.id}}" } },
};

export function AutomationsPage({ rest }: { rest: string[] }) {
	return (
		<Page title="nav.automations">
			<CollectionEditor collection="automations" page="automations" id={rest[0]} example={EXAMPLE} />
		</Page>
	);
}
