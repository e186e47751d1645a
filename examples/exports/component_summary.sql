-- patchdeck export kit: component status as the console colours it. One row per component
-- and computer of the SMS_ComponentSummarizer summary ("SMS_ComponentSummarizer Server WMI
-- Class", ConfigMgr 2007 SDK, learn.microsoft.com/previous-versions/system-center/developer/
-- cc144830(v=msdn.10)): Status is the colour of the component's icon in the console
-- (0 green, 1 yellow, 2 red: the SMS reference's Table B.75), judged by the site's own
-- Component Status Summarizer thresholds; Errors and Warnings are counted over the tally
-- interval. The interval is "Since 12:00AM", 0001128000100008, the first of the 16 default
-- tally intervals ("About Configuration Manager Tally Intervals", cc144112(v=msdn.10)); a
-- token that is not in the site's list returns no data.
-- The SQL view's name and its TallyInterval column follow the WMI class (the SDK documents
-- the class, not the view): try the query against your site database first.
-- Read by the probe `wsus` (config key component_summary_csv).
-- Columns: SiteCode, MachineName, ComponentName, Status, State, Errors, Warnings.
SET NOCOUNT ON;
SELECT cs.SiteCode,
       cs.MachineName,
       cs.ComponentName,
       cs.Status,
       cs.State,
       cs.Errors,
       cs.Warnings
FROM v_ComponentSummarizer AS cs
WHERE cs.TallyInterval = N'0001128000100008';
