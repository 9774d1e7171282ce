-- Each agent's event is written by the database with the status it tells of: a new agent's
-- first, and one for each move of its sequence. One statement per move from the store, and
-- no status without its event, whoever writes it.
CREATE TRIGGER `orchestrator_agents_first_event` AFTER INSERT ON `orchestrator_agents`
BEGIN
  INSERT INTO `orchestrator_events` (`agent_id`, `sequence`, `payload`)
  VALUES (NEW.`agent_id`, NEW.`sequence`, json_set(NEW.`status`, '$.sequence', NEW.`sequence`));
END;
--> statement-breakpoint
CREATE TRIGGER `orchestrator_agents_moved` AFTER UPDATE OF `sequence` ON `orchestrator_agents`
WHEN NEW.`sequence` <> OLD.`sequence`
BEGIN
  INSERT INTO `orchestrator_events` (`agent_id`, `sequence`, `payload`)
  VALUES (NEW.`agent_id`, NEW.`sequence`, json_set(NEW.`status`, '$.sequence', NEW.`sequence`));
END;
