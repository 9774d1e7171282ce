import { describe, expect, it } from 'vitest';
import { commandNeedsApproval } from './approvals.js';
import { ApprovalRulesSchema } from './schemas/connections.js';

describe('approval rules for commands', () => {
  it('holds a command any step of which starts with a pattern, and lets others run', () => {
    expect(commandNeedsApproval('git push origin main', ['git push'])).toBe('git push');
    expect(commandNeedsApproval('cd app && git push', ['git push'])).toBe('git push');
    expect(commandNeedsApproval('npm test | tee out; git   push -f', ['git push'])).toBe('git push');
    expect(commandNeedsApproval('git pushd', ['git push'])).toBeUndefined();
    expect(commandNeedsApproval('git status', ['git push'])).toBeUndefined();
    expect(commandNeedsApproval('echo "git push"', ['git push'])).toBeUndefined();
  });

  it('reads * as any text, and sees through env, sudo and variable prefixes and substitutions', () => {
    expect(commandNeedsApproval('npm install-test', ['npm install*'])).toBe('npm install*');
    expect(commandNeedsApproval('rm -rf build', ['rm -rf *'])).toBe('rm -rf *');
    expect(commandNeedsApproval('CI=1 sudo make deploy', ['make deploy'])).toBe('make deploy');
    expect(commandNeedsApproval('echo $(make deploy)', ['make deploy'])).toBe('make deploy');
    expect(commandNeedsApproval('a.b', ['a.b'])).toBe('a.b');
    expect(commandNeedsApproval('axb', ['a.b'])).toBeUndefined();
  });

  it('reads @network as the commands that fetch or send', () => {
    for (const command of ['curl -s https://example.com', 'cd web && npm install', 'pip install -r requirements.txt', 'git fetch origin', 'wget x']) {
      expect(commandNeedsApproval(command, ['@network']), command).toBe('@network');
    }
    for (const command of ['npm test', 'git commit -m fix', 'sh test.sh', 'cat curl.txt']) {
      expect(commandNeedsApproval(command, ['@network']), command).toBeUndefined();
    }
  });

  it('names the first rule that matches, and none without rules', () => {
    expect(commandNeedsApproval('curl x && git push', ['git push', '@network'])).toBe('git push');
    expect(commandNeedsApproval('curl x', [])).toBeUndefined();
  });

  it('takes one-line patterns without repeats', () => {
    expect(ApprovalRulesSchema.safeParse({ plan: true, commands: ['git push', '@network'] }).success).toBe(true);
    expect(ApprovalRulesSchema.safeParse({ commands: ['git push', 'git push'] }).success).toBe(false);
    expect(ApprovalRulesSchema.safeParse({ commands: ['git\npush'] }).success).toBe(false);
    expect(ApprovalRulesSchema.safeParse({ commands: [' git push'] }).success).toBe(false);
    expect(ApprovalRulesSchema.safeParse({ commands: [''] }).success).toBe(false);
    expect(ApprovalRulesSchema.safeParse({ plan: 'yes' }).success).toBe(false);
  });
});
