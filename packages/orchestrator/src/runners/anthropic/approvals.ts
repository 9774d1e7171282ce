// PROTOCOL 5, Approvals, in the Claude runners: an agent asked for a plan proposes it with
// the `submit_plan` tool and may only read until it is approved; a command the
// connection's rules hold waits for a person's answer before it runs, and a rejected one
// never runs. The waiting itself (the `waiting` state, the answer) is the executor's.
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { commandNeedsApproval } from '@mosaic-fed/core';
import { z } from 'zod';
import { transcriptText } from '../../lib/transcript-text.js';
import type { AgentRunContext, ApprovalReply } from '../types.js';
import type { GatedCall } from './tools.js';

/** The tool an agent proposes its plan with. */
export const PLAN_TOOL = 'submit_plan';

/** What a tool answers while the plan waits for approval. */
export const PLAN_FIRST = `Propose your plan first with the ${PLAN_TOOL} tool: no command runs and no file changes before a person approves it. You may read files with the editor's view command.`;

const PlanInputSchema = z.object({ plan: z.string().min(1).max(20_000) });

/** The approvals of one attempt: the gate every tool call passes, the plan tool, and what the system prompt says of them. */
export interface RunnerApprovals {
  gate: (call: GatedCall) => Promise<void>;
  tools: BetaRunnableTool[];
  prompt: string;
}

/** `turn`: the model turns so far, for the transcript's notes. */
export function runnerApprovals(context: AgentRunContext, turn: () => number): RunnerApprovals {
  const { approvals } = context;
  let planApproved = !approvals.plan;
  const note = (input: string) => context.record({ kind: 'note', turn: turn(), input: transcriptText(context.sandbox, input, 2_000) });
  const ask = async (kind: string, summary: string, details?: Record<string, string>): Promise<ApprovalReply> => {
    note(`asked for approval of its ${kind}: ${summary}`);
    const reply = await context.requestApproval({ kind, summary: transcriptText(context.sandbox, summary, 4_000), ...(details === undefined ? {} : { details }) });
    note(`its ${kind} was ${reply.decision === 'approve' ? 'approved' : 'not approved'}${reply.note === undefined ? '' : `: ${reply.note}`}`);
    return reply;
  };
  const said = (reply: ApprovalReply) => (reply.note === undefined ? '' : ` The person said: ${reply.note}`);

  const gate = async (call: GatedCall): Promise<void> => {
    if (!planApproved && !(call.tool === 'str_replace_based_edit_tool' && call.command === 'view')) throw new Error(PLAN_FIRST);
    if (call.tool !== 'bash') return;
    const rule = commandNeedsApproval(call.command, approvals.commands);
    if (rule === undefined) return;
    const command = transcriptText(context.sandbox, call.command, 2_000);
    const reply = await ask('command', `Run \`${command}\``, { command, rule });
    if (reply.decision === 'reject') {
      throw new Error(`A person did not approve this command, so it did not run.${said(reply)} Do not run it again; find another way, or say in your answer why it is needed.`);
    }
  };

  const planTool: BetaRunnableTool<z.infer<typeof PlanInputSchema>> = {
    name: PLAN_TOOL,
    description:
      'Propose your plan for the task and wait for a person to approve it. Say what you will change, in which files, and how you will check it. Until it is approved, only reading files works.',
    input_schema: {
      type: 'object',
      properties: { plan: { type: 'string', description: 'The plan, in a few short paragraphs or a list.' } },
      required: ['plan'],
    },
    parse: (input) => PlanInputSchema.parse(input),
    run: async ({ plan }) => {
      if (planApproved) return 'Your plan is approved already: carry it out.';
      const reply = await ask('plan', plan);
      if (reply.decision === 'approve') {
        planApproved = true;
        return `Your plan is approved: carry it out.${said(reply)}`;
      }
      return `Your plan was not approved.${said(reply)} Revise it and propose it again with ${PLAN_TOOL}.`;
    },
  };

  return {
    gate,
    tools: approvals.plan ? [planTool] : [],
    prompt: approvals.plan
      ? `Before you change anything, read what you need, then propose your plan with the ${PLAN_TOOL} tool and wait for the answer. Commands and edits are refused until a person approves it.`
      : '',
  };
}
