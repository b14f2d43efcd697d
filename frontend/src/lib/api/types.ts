//! Names for the wire types the dashboard uses, all derived from the generated
//! OpenAPI schema (src/lib/api/schema.d.ts). Never declare a wire shape here by hand.
import type { components } from './schema';

type Schemas = components['schemas'];

export type Sample = Schemas['Sample'];
export type DiskSample = Schemas['DiskSample'];
export type IfaceSample = Schemas['IfaceSample'];
export type TempSample = Schemas['TempSample'];
export type ProcSample = Schemas['ProcSample'];
export type Machine = Schemas['Machine'];
export type MachineStatus = Schemas['MachineStatus'];
export type MachineSnapshot = Schemas['MachineSnapshot'];
export type MachineWithKey = Schemas['MachineWithKey'];
export type CreateMachine = Schemas['CreateMachine'];
export type UpdateMachine = Schemas['UpdateMachine'];
export type User = Schemas['User'];
export type Role = Schemas['Role'];
export type LoginRequest = Schemas['LoginRequest'];
export type ChangePassword = Schemas['ChangePassword'];
export type CreateUser = Schemas['CreateUser'];
export type UpdateUser = Schemas['UpdateUser'];
export type EnrollmentToken = Schemas['EnrollmentToken'];
export type CreateEnrollmentToken = Schemas['CreateEnrollmentToken'];
export type EnrollmentTokenWithSecret = Schemas['EnrollmentTokenWithSecret'];
export type AuditEntry = Schemas['AuditEntry'];
export type MetricSeries = Schemas['MetricSeries'];
export type Band = Schemas['Band'];
export type Latest = Schemas['Latest'];
export type ErrorBody = Schemas['ErrorBody'];
export type LiveFrame = Schemas['LiveFrame'];
export type LiveClientFrame = Schemas['LiveClientFrame'];
export type AlertRule = Schemas['AlertRule'];
export type AlertRuleInput = Schemas['AlertRuleInput'];
export type AlertEvent = Schemas['AlertEvent'];
export type AlertState = Schemas['AlertState'];
export type Severity = Schemas['Severity'];
export type Comparator = Schemas['Comparator'];
export type QuietHours = Schemas['QuietHours'];
export type Delivery = Schemas['Delivery'];
export type Channel = Schemas['Channel'];
export type ChannelConfig = Schemas['ChannelConfig'];
export type CreateChannel = Schemas['CreateChannel'];
export type ChannelTestResult = Schemas['ChannelTestResult'];

/** One variant of the hub → browser live frame, by its `type` tag. */
export type LiveFrameOf<T extends LiveFrame['type']> = Extract<LiveFrame, { type: T }>;
