/**
 * Which addresses an outbound connection may reach (PROTOCOL 3, "Outbound requests"): the
 * seam between the server's policy (`OutboundPolicy`) and what else connects on a peer's
 * behalf, such as the orchestrator's repository fetches.
 */
export interface AddressPolicy {
  /** Whether an IP address, in any spelling, may be connected to. */
  allowsAddress(address: string): boolean;
}
