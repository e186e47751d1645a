-- patchdeck export kit: software update point status messages of the last 35 days (five
-- weekly synchronisations at the default schedule): SMS_WSUS_SYNC_MANAGER 6701 started,
-- 6702 done, 6703 failed, and SMS_WSUS_CONFIGURATION_MANAGER's messages. The view holds
-- every site of the hierarchy: SiteCode tells them apart (config key site_code).
-- Read by the probe `wsus` (config key status_messages_csv).
-- Columns: Component, MessageID, Time, SiteCode, MachineName.
SET NOCOUNT ON;
SELECT sm.Component,
       sm.MessageID,
       sm.Time,
       sm.SiteCode,
       sm.MachineName
FROM v_StatusMessage AS sm
WHERE sm.Component IN ('SMS_WSUS_SYNC_MANAGER', 'SMS_WSUS_CONFIGURATION_MANAGER')
  AND sm.Time > DATEADD(day, -35, GETUTCDATE());
