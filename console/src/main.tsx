import { render } from "preact";
import { App } from "./app.js";
import { initialLocale, setLocale } from "./i18n/index.js";
import "./styles.css";

setLocale(initialLocale());
const root = document.getElementById("app");
if (root) {
	root.textContent = "";
	render(<App />, root);
}
