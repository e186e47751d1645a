-- patchdeck export kit: why synchronisation failed. Status message 6703 of
-- SMS_WSUS_SYNC_MANAGER carries the error text in its insertion strings; "Troubleshooting
-- Software Updates Synchronization" (9647358a) says to look that text up. One row per
-- insertion string of each 6703 of the last 35 days (five syncs at the default schedule).
-- Read by the probe `wsus` (config key sync_failures_csv).
-- Columns: RecordID, Time, SiteCode, InsStrIndex, InsStrValue.
SET NOCOUNT ON;
SELECT sm.RecordID,
       sm.Time,
       sm.SiteCode,
       ins.InsStrIndex,
       ins.InsStrValue
FROM v_StatusMessage AS sm
JOIN v_StatMsgInsStrings AS ins
  ON ins.RecordID = sm.RecordID
WHERE sm.Component = 'SMS_WSUS_SYNC_MANAGER'
  AND sm.MessageID = 6703
  AND sm.Time > DATEADD(day, -35, GETUTCDATE());
