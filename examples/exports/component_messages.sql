-- patchdeck export kit: component status as the console shows it. Every error and warning
-- status message of the site's components in the last 2 days, with its insertion strings (one
-- row per string; none: one row with NULLs). Severity is SMS_StatusMessage's: -1073741824
-- (0xC0000000) error, -2147483648 (0x80000000) warning. The probe counts them per component
-- over its window (config key component_window) and shows the newest error's text.
-- Read by the probe `wsus` (config key component_messages_csv).
-- Columns: Component, SiteCode, Severity, MessageID, Time, RecordID, InsStrIndex, InsStrValue.
SET NOCOUNT ON;
SELECT sm.Component,
       sm.SiteCode,
       sm.Severity,
       sm.MessageID,
       sm.Time,
       sm.RecordID,
       ins.InsStrIndex,
       ins.InsStrValue
FROM v_StatusMessage AS sm
LEFT JOIN v_StatMsgInsStrings AS ins
  ON ins.RecordID = sm.RecordID
WHERE sm.Severity IN (-1073741824, -2147483648)
  AND sm.PerClient = 0
  AND sm.Time > DATEADD(day, -2, GETUTCDATE());
