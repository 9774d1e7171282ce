/** The branch an agent works on in its checkout; an agent id always makes a valid ref name. */
export const agentBranchOf = (agentId: string): string => `mosaic/agent-${agentId}`;
