using System.Collections;
using Microsoft.Build.Framework;

namespace Relcraft.Sdk.Tests.Infrastructure;

/// <summary>Collects what a task logs, so tests can assert on error codes rather than message text.</summary>
internal sealed class FakeBuildEngine : IBuildEngine
{
    public List<BuildErrorEventArgs> Errors { get; } = [];
    public List<BuildWarningEventArgs> Warnings { get; } = [];
    public List<BuildMessageEventArgs> Messages { get; } = [];

    public IEnumerable<string> ErrorCodes => Errors.Select(e => e.Code);

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "/fake/App.csproj";

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);
    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);
    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e);
    public void LogCustomEvent(CustomBuildEventArgs e) { }

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException("Relcraft tasks do not build other projects.");

    public string Describe() => string.Join("\n", Errors.Select(e => $"error {e.Code}: {e.Message}").Concat(Warnings.Select(w => $"warning {w.Code}: {w.Message}")));
}
