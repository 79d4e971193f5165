// What the application's own objects (app.yaml) mean to this service: which robot handler runs what, which
// business process is the refusal process, and which rule fires each app trigger.
import type { Template } from '../template/index.js';

export type RobotHandler = 'refusal' | 'stageActions';

/** The robot handler paths this service serves (app.yaml handlerPath → what runs). */
export const ROBOT_HANDLERS: Record<string, RobotHandler> = {
  '/robots/refusal': 'refusal',
  '/robots/stage-actions': 'stageActions',
};

/**
 * App trigger code → the rule whose firing is the trigger's event. An admin may place the trigger on a lead status in
 * the automation settings; the service executes it for every lead that rule picks up (an inbound call or form).
 */
export const APP_TRIGGER_RULES: Record<string, string> = {
  autosalon_inbound: 'lead.inbound.first_status',
};

type BusinessProcess = Template['app']['businessProcesses'][number];

/** The deal business process that ends in the refusal robot: the refusal process (spec section 5, step 1). */
export function refusalProcessOf(template: Template): BusinessProcess | undefined {
  return template.app.businessProcesses.find((bp) => {
    const robot = template.app.robots.find((r) => r.code === bp.robot);
    return bp.documentType === 'deal' && robot !== undefined && ROBOT_HANDLERS[robot.handlerPath] === 'refusal';
  });
}
