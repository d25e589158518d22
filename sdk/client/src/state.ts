/**
 * The connection state machine: `disconnected → connecting → connected`, and `stopped` when the
 * client was closed or the server said not to come back (close codes 4500–4999).
 */
export type ConnectionState = "disconnected" | "connecting" | "connected" | "stopped";

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
	disconnected: ["connecting", "stopped"],
	connecting: ["connected", "disconnected", "stopped"],
	connected: ["disconnected", "stopped"],
	stopped: ["connecting"],
};

export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
	return TRANSITIONS[from].includes(to);
}

export class StateMachine {
	private state: ConnectionState = "disconnected";

	get current(): ConnectionState {
		return this.state;
	}

	/** Moves to `to` and returns the previous state; throws on a transition the table does not allow. */
	to(to: ConnectionState): ConnectionState {
		const from = this.state;
		if (!canTransition(from, to)) throw new Error(`warbler: invalid state transition ${from} → ${to}`);
		this.state = to;
		return from;
	}
}
