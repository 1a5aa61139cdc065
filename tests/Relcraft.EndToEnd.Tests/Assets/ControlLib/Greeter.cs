// "Ctl.Lib": a dependency of Ctl.App that the app does not touch until Ctl.State.UseLib() is called.
namespace Ctl.Lib;

public static class Greeter
{
    public static string Greet(string who) => $"greetings from Ctl.Lib to {who}";
}
