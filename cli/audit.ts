import type { RegisterGroup } from './context.js';

// Placeholder: the commands of this group are added by the issue that owns them.
export const registerAudit: RegisterGroup = () => undefined;
