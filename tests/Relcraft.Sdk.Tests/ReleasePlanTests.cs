namespace Relcraft.Sdk.Tests;

public sealed class ReleasePlanTests
{
    [Theory]
    [InlineData("bin/kv")]
    [InlineData("etc/app.conf")]
    [InlineData("./etc/app.conf")]
    [InlineData("etc/../bin/x")]
    [InlineData("a/b/../../c")]
    [InlineData("etc\\app.conf")]
    public void StaysInside_accepts_paths_inside_the_release(string path)
    {
        Assert.True(ReleasePlan.StaysInside(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("./")]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a/..")]
    [InlineData("..\\x")]
    [InlineData("/etc/passwd")]
    [InlineData("C:/x")]
    [InlineData("C:x")]
    public void StaysInside_rejects_the_root_itself_and_everything_outside(string path)
    {
        Assert.False(ReleasePlan.StaysInside(path));
    }

    [Fact]
    public void Paths_are_normalised_to_forward_slashes_without_a_leading_slash()
    {
        var plan = new ReleasePlan();
        plan.Write("\\etc\\a.conf", [1]);
        Assert.True(plan.Contains("etc/a.conf"));
        Assert.Equal("etc/a.conf", Assert.Single(plan.Files).RelativePath);
    }

    [Fact]
    public void Later_additions_replace_earlier_ones_as_overlays_must()
    {
        var plan = new ReleasePlan();
        plan.Write("etc/a.conf", [1]);
        plan.Write("etc/a.conf", [2], ReleasePlan.Secret);
        var file = Assert.Single(plan.Files);
        Assert.Equal([2], file.Content);
        Assert.Equal(ReleasePlan.Secret, file.Mode);
    }

    [Fact]
    public void Files_are_listed_in_ordinal_order()
    {
        var plan = new ReleasePlan();
        foreach (var p in new[] { "lib/b", "bin/x", "lib/a", "B", "a" }) plan.Write(p, []);
        Assert.Equal(["B", "a", "bin/x", "lib/a", "lib/b"], plan.Files.Select(f => f.RelativePath));
    }

    [Fact]
    public void Copy_takes_the_exec_bit_from_the_source()
    {
        var dir = Directory.CreateTempSubdirectory("relcraft-plan-");
        try
        {
            var exe = Path.Combine(dir.FullName, "exe");
            var data = Path.Combine(dir.FullName, "data");
            File.WriteAllText(exe, "");
            File.WriteAllText(data, "");
            File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var plan = new ReleasePlan();
            plan.Copy("exe", exe);
            plan.Copy("data", data);
            Assert.Equal(ReleasePlan.Executable, plan.Files.Single(f => f.RelativePath == "exe").Mode);
            Assert.Equal(ReleasePlan.Regular, plan.Files.Single(f => f.RelativePath == "data").Mode);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void The_modes_are_the_usual_ones()
    {
        Assert.Equal("644", Convert.ToString((int)ReleasePlan.Regular, 8));
        Assert.Equal("755", Convert.ToString((int)ReleasePlan.Executable, 8));
        Assert.Equal("600", Convert.ToString((int)ReleasePlan.Secret, 8));
    }
}
